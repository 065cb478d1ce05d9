#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// The final root filesystem of an image: its layers unpacked in order with whiteouts applied
/// (`type=local`), or that tree as one deterministic uncompressed tar (`type=tar`).
public enum RootfsExporter {
    /// Unpacks every layer of `image` into `directory` (created if missing; existing content is kept and
    /// overwritten where the image has the same paths, as buildx's local exporter does).
    /// `forUser`: the tree is for the user who ran swiftbuild (`type=local`): in a rootless build its files belong
    /// to that user, not to the subordinate ids the image's owners map to (which the user could not remove).
    public static func unpack(_ image: Image, content: ContentStore, into directory: String,
                              forUser: Bool = false) throws(ExportError) {
        do { try AtomicFile.makeDirectories(directory) } catch { throw .image(error) }
        let rootless = forUser && SandboxEnvironment.current.rootIsAnotherHostID
        let extractor = rootless ? LayerExtractor(options: .init(preserveOwners: false, allowDevices: false))
                                 : LayerExtractor()
        for layer in image.layers {
            do {
                _ = try extractor.extract(archiveAt: content.path(for: layer.digest), into: directory)
            } catch {
                throw .layer(digest: layer.digest, reason: "unpacking into \(directory): \(error)")
            }
        }
    }

    /// Writes images' root filesystems as one tar to `path`, or to standard output for "-": each under its
    /// folder (`linux_arm64/`; "" is the top). The trees are unpacked into a temp directory under `scratch`
    /// first and removed afterwards; mtimes are the layers' own (already clamped to SOURCE_DATE_EPOCH when the
    /// build had one), so the tar is reproducible too.
    public static func writeTar(_ images: [(folder: String, image: Image)], content: ContentStore, scratch: String,
                                to path: String) throws(ExportError) {
        let tree: String
        do { tree = try AtomicFile.makeTemporaryDirectory(in: scratch, prefix: "rootfs-") } catch { throw .image(error) }
        defer { AtomicFile.removeTree(tree) }
        for (folder, image) in images {
            try unpack(image, content: content, into: folder.isEmpty ? tree : tree + "/" + folder)
        }
        do {
            let writer = try LayerWriter(compression: .uncompressed)
            if path == "-" {
                _ = try writer.write(tree: tree, to: FileLayerSink(fileDescriptor: 1, name: "standard output"))
                return
            }
            let temp = AtomicFile.temporaryName(for: path)
            let sink = try FileLayerSink(path: temp)
            do {
                _ = try writer.write(tree: tree, to: sink)
                try sink.close(sync: true)
                guard rename(temp, path) == 0 else { throw ExportError.system(call: "rename", path: path, errno: errno) }
            } catch {
                try? sink.close()
                _ = unlink(temp)
                throw error
            }
        } catch let error as ExportError {
            throw error
        } catch {
            throw .unsupported("writing the root filesystem tar \(path): \(error)")
        }
    }
}
