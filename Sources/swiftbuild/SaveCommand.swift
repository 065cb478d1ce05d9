import ArgumentParser
import SwiftBuildKit

/// `swiftbuild save IMAGE… -o FILE [--format oci|docker]`.
struct SaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Write images of the local store to an OCI archive or a docker-archive.",
        discussion: """
            The OCI archive (default) keeps every digest: `swiftbuild load` in another
            root, `skopeo copy oci-archive:FILE …` and `podman load` read it.
            `--format docker` writes what `docker load` and `kind load image-archive`
            read (layers uncompressed, so the manifest digest differs; the image ID
            stays). Examples:

              swiftbuild save app:1.0 -o app.tar
              swiftbuild save app:1.0 base:1 --format docker -o images.tar
              swiftbuild save app:1.0 -o - | ssh host podman load
            """
    )

    @OptionGroup var rootOptions: RootOptions

    @Option(name: [.short, .customLong("output")], help: "The archive to write ('-' for standard output).")
    var output: String

    @Option(help: "oci (default) or docker.")
    var format: String = "oci"

    @Argument(help: "Image names.")
    var images: [String]

    func validate() throws {
        guard ImageSaver.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be oci or docker")
        }
        guard !images.isEmpty else { throw ValidationError("name at least one image") }
    }

    func run() async throws {
        let (content, store, root) = try rootOptions.stores()
        let references = try images.map(parseReference)
        try storeOperation {
            try ImageSaver(content: content, images: store, scratch: root + "/tmp")
                .save(references, format: ImageSaver.Format(rawValue: format) ?? .oci, to: output)
        }
    }
}
