import ArgumentParser
import SwiftBuildKit
import SwiftBuildOCI

/// `swiftbuild pull NAME`: fetch an image from its registry into the local store.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download an image from a registry into the local store.",
        discussion: """
            Examples:

              swiftbuild pull debian:bookworm
              swiftbuild pull localhost:5000/base@sha256:…
            """
    )

    @OptionGroup var rootOptions: RootOptions
    @OptionGroup var registryFlags: RegistryFlags

    @Option(help: "The platform to pull from a multi-platform image (os/arch[/variant]; default: the host's).")
    var platform: String?

    @Argument(help: "The image name.")
    var name: String

    func run() async throws {
        let (_, store, _) = try rootOptions.stores()
        let reference = try parseReference(name)
        var wanted = Platform.host
        if let platform {
            let parts = platform.split(separator: "/").map(String.init)
            guard parts.count >= 2 else { throw CommandFailure("invalid --platform \"\(platform)\": expected os/arch[/variant]") }
            wanted = Platform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil)
        }
        let puller = ImagePuller(images: store, options: try registryFlags.options()) { line in
            CommandOutput.standardError(line + "\n")
        }
        let descriptor = try storeOperation { try puller.pull(reference, platform: wanted) }
        CommandOutput.standardOutput("\(reference.familiar) \(descriptor.digest)\n")
    }
}
