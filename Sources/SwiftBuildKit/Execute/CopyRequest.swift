import SwiftBuildDockerfile
import SwiftBuildOCI

/// One COPY or ADD, with everything the lead resolved: destination joined with WORKDIR, owner ids looked up.
public struct CopyRequest: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A path or wildcard pattern relative to the source root (a leading `/` and `..` stay inside it).
        case path(String)
        /// A heredoc (`COPY <<EOF /dst`): a file named `name` with these contents (mode 0644).
        case heredoc(name: String, contents: [UInt8])
        /// `ADD https://…` (also `git` URLs, which are refused as not supported yet).
        case url(String)
    }

    public struct Owner: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }
    }

    public var sources: [Source]
    /// Absolute path in the rootfs; a trailing `/` means "a directory".
    public var destination: String
    public var owner: Owner?
    public var chmod: Chmod?
    public var parents: Bool
    public var excludes: [String]
    /// `--link`: same files as a plain copy here (the layer is the diff of this step alone either way);
    /// only the lead's cache/rebase behaviour could differ.
    public var link: Bool
    /// ADD: extracts local archives and accepts URLs.
    public var isAdd: Bool
    /// ADD `--checksum=sha256:…` for a URL source.
    public var checksum: Digest?

    public init(sources: [Source], destination: String, owner: Owner? = nil, chmod: Chmod? = nil,
                parents: Bool = false, excludes: [String] = [], link: Bool = false, isAdd: Bool = false,
                checksum: Digest? = nil) {
        self.sources = sources
        self.destination = destination
        self.owner = owner
        self.chmod = chmod
        self.parents = parents
        self.excludes = excludes
        self.link = link
        self.isAdd = isAdd
        self.checksum = checksum
    }
}

/// Where COPY/ADD sources come from.
public enum CopySourceRoot: Sendable {
    /// The build context: `.dockerignore` applies, files are owned by root:root in the image (as the docker
    /// CLI resets ownership when it sends the context).
    case context(BuildContext)
    /// A directory (another stage's or an image's rootfs, `COPY --from`): ownership is kept.
    case directory(String)

    var directory: String {
        switch self {
        case .context(let c): return c.directory
        case .directory(let d): return d
        }
    }
}
