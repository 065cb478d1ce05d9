#if canImport(Glibc)
import Glibc
#endif
import SwiftBuildArchive
import SwiftBuildOCI

/// Writes images as a docker-archive (what `docker save` writes and `docker load`, `podman load`,
/// `skopeo copy docker-archive:` and `kind load image-archive` read): `manifest.json` listing for each image its
/// config file, its `RepoTags` (short names, e.g. `app:1.0`) and its layer files, plus the legacy `repositories`
/// file. Files are stored as `blobs/sha256/<hex>` like Docker 25 does; layers are uncompressed tars (so the
/// file's digest is the layer's diff ID), which every loader accepts. The archive is deterministic.
public enum DockerArchiveExporter {
    public static func write(images: [(Image, [ImageReference])], content: ContentStore, scratch: String,
                             to path: String) throws(ExportError) {
        struct Entry: Encodable {
            var Config: String
            var RepoTags: [String]
            var Layers: [String]
        }
        var entries: [Entry] = []
        var repositories: [String: [String: String]] = [:]
        var layerFiles: [Digest: (Descriptor, Digest)] = [:]   // diff ID → (blob, diff ID)
        for (image, references) in images {
            guard image.layers.count == image.diffIDs.count else {
                throw .image(.layerCountMismatch(manifest: image.manifestDescriptor.digest, layers: image.layers.count,
                                                 diffIDs: image.diffIDs.count))
            }
            var tags: [String] = []
            for reference in references where reference.tag != nil {
                tags.append(reference.familiar)
                repositories[reference.familiarName, default: [:]][reference.tag ?? "latest"] = image.id.encoded
            }
            var layers: [String] = []
            for (layer, diffID) in zip(image.layers, image.diffIDs) {
                layers.append("blobs/sha256/" + diffID.encoded)
                layerFiles[diffID] = (layer, diffID)
            }
            entries.append(Entry(Config: "blobs/sha256/" + image.id.encoded, RepoTags: tags, Layers: layers))
        }
        let manifestBytes: [UInt8]
        let repositoriesBytes: [UInt8]
        do {
            manifestBytes = try CanonicalJSON.encode(entries)
            repositoriesBytes = try CanonicalJSON.encode(repositories)
        } catch {
            throw .image(.malformedJSON(what: "manifest.json", reason: "\(error)"))
        }

        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var layerTemps: [String] = []
        defer { for file in layerTemps { _ = unlink(file) } }
        do throws(ExportError) {
            // Blob files sorted by name: configs and layers together.
            var files: [(String, Source)] = []
            for (image, _) in images { files.append((image.id.encoded, .blob(image.id, image.configDescriptor.size))) }
            for (diffID, (layer, _)) in layerFiles {
                if layer.mediaType.layerCompression == .uncompressed {
                    files.append((diffID.encoded, .blob(layer.digest, layer.size)))
                } else {
                    let file = try decompress(layer, diffID: diffID, content: content, scratch: scratch)
                    layerTemps.append(file)
                    files.append((diffID.encoded, .file(file)))
                }
            }
            var seen = Set<String>()
            files = files.filter { seen.insert($0.0).inserted }.sorted { $0.0 < $1.0 }

            let writer: TarFileWriter
            do { writer = try TarFileWriter(creating: temp) } catch { throw .image(error) }
            do throws(ImageStoreError) {
                try writer.directory("blobs/")
                try writer.directory("blobs/sha256/")
                for (name, source) in files {
                    switch source {
                    case .blob(let digest, let size):
                        try ArchiveCopy.file(content.path(for: digest), size: size, as: "blobs/sha256/" + name, into: writer)
                    case .file(let file):
                        var st = stat()
                        guard stat(file, &st) == 0 else { throw .system(call: "stat", path: file, errno: errno) }
                        try ArchiveCopy.file(file, size: Int64(st.st_size), as: "blobs/sha256/" + name, into: writer)
                    }
                }
                try writer.file("manifest.json", bytes: manifestBytes)
                try writer.file("repositories", bytes: repositoriesBytes)
                try writer.finish()
            } catch { throw .image(error) }
            guard rename(temp, path) == 0 else { throw .system(call: "rename", path: path, errno: errno) }
        } catch {
            _ = unlink(temp)
            throw error
        }
    }

    private enum Source { case blob(Digest, Int64), file(String) }

    /// Decompresses a layer blob into a temp file under `scratch`, checking its diff ID.
    static func decompress(_ layer: Descriptor, diffID: Digest, content: ContentStore,
                           scratch: String) throws(ExportError) -> String {
        let source = content.path(for: layer.digest)
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: source, errno: errno) }
        defer { _ = close(fd) }
        let target = scratch + "/layer-\(diffID.encoded.prefix(16))-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tar"
        do {
            let sink = try FileLayerSink(path: target)
            let result: LayerResult
            do {
                result = try LayerWriter(compression: .uncompressed).recompress(fileDescriptor: fd, to: sink)
                try sink.close()
            } catch {
                try? sink.close()
                throw error
            }
            guard result.diffID == diffID else {
                _ = unlink(target)
                throw ExportError.diffIDMismatch(layer: layer.digest, expected: diffID, actual: result.diffID)
            }
        } catch let error as ExportError {
            throw error
        } catch {
            _ = unlink(target)
            throw .layer(digest: layer.digest, reason: "decompressing: \(error)")
        }
        return target
    }
}

/// Copies a file into a tar entry of exactly `size` bytes.
enum ArchiveCopy {
    static func file(_ path: String, size: Int64, as name: String, into writer: TarFileWriter) throws(ImageStoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(call: "open", path: path, errno: errno) }
        defer { _ = close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        try writer.file(name, size: size) { (w: TarFileWriter) throws(ImageStoreError) in
            var left = size
            while left > 0 {
                guard let base = buffer.baseAddress else { return }
                let n = read(fd, base, Int(min(Int64(buffer.count), left)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .system(call: "read", path: path, errno: errno)
                }
                if n == 0 { throw .sizeMismatch(what: path, expected: size, actual: size - left) }
                try w.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                left -= Int64(n)
            }
        }
    }
}
