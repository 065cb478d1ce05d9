#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// Writes one `-o` output of a finished image: picks the exporter, applies the output's options, and handles
/// `dest=-` (standard output) by writing a temp file under `scratch` and copying it out.
public struct ImageExporter: Sendable {
    public let content: ContentStore
    public let scratch: String

    public init(content: ContentStore, scratch: String) {
        self.content = content
        self.scratch = scratch
    }

    /// Exports `image` named by `tags` (plus the output's own `name=`). Returns the manifest descriptor that was
    /// written (it differs from the image's when the output changes media types, compression or annotations).
    @discardableResult
    public func export(_ image: Image, tags: [ImageReference], to output: BuildOutput) throws(ExportError) -> Descriptor {
        try export(.image(image), tags: tags, to: output)
    }

    /// Exports one image, or a multi-platform build's index: an OCI output holds the index (a Docker manifest
    /// list with `oci-mediatypes=false`), a docker archive lists every platform's image (the tags on the
    /// host's, else the first), and `type=local`/`type=tar` write one folder per platform (`linux_arm64/`), as
    /// buildx does. Returns the descriptor written at the top (manifest or index).
    @discardableResult
    public func export(_ set: ImageSet, tags: [ImageReference], to output: BuildOutput) throws(ExportError) -> Descriptor {
        let options = output.options
        var names = tags
        for name in options.names {
            do { names.append(try ImageReference(parsing: name)) } catch {
                throw .unsupported("invalid name \"\(name)\" in --output: \(error)")
            }
        }
        let entries = set.platformImages
        switch output {
        case .oci(let destination, let tar, _):
            let top = try converted(set, options: options)
            try toFileOrStandardOutput(destination, directory: !tar) { (path) throws(ExportError) in
                do throws(ImageStoreError) {
                    try OCIArchiveExporter.write(images: [(top, names)], content: content, to: path, tar: tar,
                                                 indexAnnotations: options.indexAnnotations.isEmpty ? nil : options.indexAnnotations)
                } catch { throw .image(error) }
            }
            return top
        case .docker(let destination, _):
            // A docker-archive holds no manifest blob (manifest.json names config and layers, and layers are
            // written uncompressed), so media types and compression options do not change it. Of several
            // platforms, `docker load` tags the last entry that names a tag: only the host's (else the first) does.
            let tagged = entries.firstIndex { $0.platform.matches(.host) } ?? 0
            let images = entries.enumerated().map { ($1.image, $0 == tagged ? names : []) }
            try toFileOrStandardOutput(destination, directory: false) { (path) throws(ExportError) in
                try DockerArchiveExporter.write(images: images, content: content, scratch: scratch, to: path)
            }
            return set.descriptor
        case .local(let destination, _):
            guard destination != "-" else {
                throw .unsupported("type=local needs a directory as dest; use type=tar,dest=- for standard output")
            }
            for (folder, image) in Self.folders(set) {
                try RootfsExporter.unpack(image, content: content, into: folder.isEmpty ? destination : destination + "/" + folder,
                                          forUser: true)
            }
            return set.descriptor
        case .tar(let destination, _):
            try RootfsExporter.writeTar(Self.folders(set), content: content, scratch: scratch, to: destination)
            return set.descriptor
        }
    }

    /// Where each image's root file system goes in a local or tar output: the top ("") for one image; for an
    /// index, one folder per platform (`linux_arm64`, `linux_arm_v7`).
    static func folders(_ set: ImageSet) -> [(folder: String, image: Image)] {
        guard case .index = set else { return set.platformImages.map { ("", $0.image) } }
        return set.platformImages.map { platform, image in
            ([platform.os, platform.architecture, platform.variant].compactMap { $0 }.filter { !$0.isEmpty }
                .joined(separator: "_"), image)
        }
    }

    /// The set as the output's options want it: each image converted (media types, compression,
    /// annotations), and for an index, an index of the converted images in the same family (OCI index or
    /// Docker manifest list). Returns the top descriptor; new documents go into the content store.
    func converted(_ set: ImageSet, options: ExportOptions) throws(ExportError) -> Descriptor {
        switch set {
        case .image(let image):
            return try ImageConverter.convert(image, options: options, content: content).manifestDescriptor
        case .index(let descriptor, let index, _):
            var images: [(platform: Platform, image: Image)] = []
            for (platform, image) in set.platformImages {
                images.append((platform, try ImageConverter.convert(image, options: options, content: content)))
            }
            let oci = images.contains { $0.image.manifestDescriptor.mediaType == .ociManifest }
            let mediaType: MediaType = oci ? .ociIndex : .dockerManifestList
            let unchanged = zip(images, index.manifests).allSatisfy { $0.image.manifestDescriptor.digest == $1.digest }
            if unchanged && mediaType == descriptor.mediaType { return descriptor }
            do {
                return try ImageWriter.writeIndex(images, mediaType: mediaType, annotations: index.annotations,
                                                  into: content).descriptor
            } catch { throw .image(error) }
        }
    }

    /// Runs `write` on `destination`, or on a temp file that is then copied to standard output for "-".
    func toFileOrStandardOutput(_ destination: String, directory: Bool,
                                _ write: (String) throws(ExportError) -> Void) throws(ExportError) {
        guard destination == "-" else { return try write(destination) }
        guard !directory else { throw .unsupported("an OCI layout directory (tar=false) cannot go to standard output") }
        do { try AtomicFile.makeDirectories(scratch) } catch { throw .image(error) }
        let temp = scratch + "/stdout-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tar"
        defer { _ = unlink(temp) }
        try write(temp)
        let fd = open(temp, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: temp, errno: errno) }
        defer { _ = close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(call: "read", path: temp, errno: errno)
            }
            if n == 0 { break }
            do { try AtomicFile.writeAll(1, Array(buffer[0..<n]), path: "standard output") } catch { throw .image(error) }
        }
    }
}
