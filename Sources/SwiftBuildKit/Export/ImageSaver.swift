import SwiftBuildOCI

/// `swiftbuild save`: writes images of the local store into one archive, as an OCI archive (each image listed
/// in index.json under each name it was saved by) or a docker-archive.
public struct ImageSaver: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case oci, docker
    }

    public let content: ContentStore
    public let images: ImageStore
    public let scratch: String

    public init(content: ContentStore, images: ImageStore, scratch: String) {
        self.content = content
        self.images = images
        self.scratch = scratch
    }

    /// Saves `references` (in the given order; the same image under several names is stored once) to `path`
    /// ("-" for standard output).
    public func save(_ references: [ImageReference], format: Format, to path: String) throws(ExportError) {
        var groups: [(Descriptor, [ImageReference])] = []
        for reference in references {
            let descriptor: Descriptor?
            do { descriptor = try images.resolve(reference) } catch { throw .image(error) }
            guard let descriptor else { throw .unsupported("no such image: \(reference.familiar)") }
            let name = reference.tag == nil ? [] : [reference]
            if let i = groups.firstIndex(where: { $0.0.digest == descriptor.digest }) {
                groups[i].1 += name
            } else {
                groups.append((descriptor, name))
            }
        }
        let exporter = ImageExporter(content: content, scratch: scratch)
        switch format {
        case .oci:
            try exporter.toFileOrStandardOutput(path, directory: false) { (target) throws(ExportError) in
                do throws(ImageStoreError) {
                    try OCIArchiveExporter.write(images: groups, content: content, to: target, tar: true)
                } catch { throw .image(error) }
            }
        case .docker:
            var resolved: [(Image, [ImageReference])] = []
            for (descriptor, names) in groups {
                do { resolved.append((try images.image(descriptor), names)) } catch { throw .image(error) }
            }
            try exporter.toFileOrStandardOutput(path, directory: false) { (target) throws(ExportError) in
                try DockerArchiveExporter.write(images: resolved, content: content, scratch: scratch, to: target)
            }
        }
    }
}
