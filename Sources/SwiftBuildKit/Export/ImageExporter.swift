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
        let options = output.options
        var names = tags
        for name in options.names {
            do { names.append(try ImageReference(parsing: name)) } catch {
                throw .unsupported("invalid name \"\(name)\" in --output: \(error)")
            }
        }
        switch output {
        case .oci(let destination, let tar, _):
            let converted = try ImageConverter.convert(image, options: options, content: content)
            try toFileOrStandardOutput(destination, directory: !tar) { (path) throws(ExportError) in
                do throws(ImageStoreError) {
                    try OCIArchiveExporter.write(images: [(converted.manifestDescriptor, names)], content: content,
                                                 to: path, tar: tar,
                                                 indexAnnotations: options.indexAnnotations.isEmpty ? nil : options.indexAnnotations)
                } catch { throw .image(error) }
            }
            return converted.manifestDescriptor
        case .docker(let destination, _):
            // A docker-archive holds no manifest blob (manifest.json names config and layers, and layers are
            // written uncompressed), so media types and compression options do not change it.
            try toFileOrStandardOutput(destination, directory: false) { (path) throws(ExportError) in
                try DockerArchiveExporter.write(images: [(image, names)], content: content, scratch: scratch, to: path)
            }
            return image.manifestDescriptor
        case .local(let destination, _):
            guard destination != "-" else {
                throw .unsupported("type=local needs a directory as dest; use type=tar,dest=- for standard output")
            }
            try RootfsExporter.unpack(image, content: content, into: destination)
            return image.manifestDescriptor
        case .tar(let destination, _):
            try RootfsExporter.writeTar(image, content: content, scratch: scratch, to: destination)
            return image.manifestDescriptor
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
