import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `swiftbuild inspect IMAGE…`: the manifest and config of images in the local store, as JSON.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the manifest and config of images in the local store, as JSON.",
        discussion: """
            Prints a JSON array with one object per image: Id (the config digest),
            RepoTags, Digest (the manifest digest), MediaType, Created, Architecture,
            Os, Size, Manifest and Config. For a multi-platform image (an index)
            these describe the host's image (else the first platform's), and
            Index (the index digest) and Platforms (each platform with its
            manifest digest) are added. Examples:

              swiftbuild inspect app:1.0
              swiftbuild inspect app:1.0 | jq -r '.[0].Config.config.Cmd'
            """
    )

    @OptionGroup var rootOptions: RootOptions

    @Argument(help: "Image names (e.g. app:1.0, localhost/busybox, name@sha256:…).")
    var images: [String]

    func run() async throws {
        let (_, store, _) = try rootOptions.stores()
        var results: [ImageInspection] = []
        for name in images {
            let reference = try parseReference(name)
            guard let inspection = try storeOperation({ try ImageInspection.inspect(reference, in: store) }) else {
                throw CommandFailure("no such image: \(name)")
            }
            results.append(inspection)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(results)
        CommandOutput.standardOutput(String(decoding: data, as: UTF8.self) + "\n")
    }
}
