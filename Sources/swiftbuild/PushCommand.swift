import ArgumentParser
import SwiftBuildKit
import SwiftBuildOCI

/// `swiftbuild push IMAGE [DEST]`: upload an image of the local store to a registry.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload an image of the local store to a registry.",
        discussion: """
            Examples:

              swiftbuild push localhost:5000/app:v1
              swiftbuild push app:latest ghcr.io/me/app:v1
            """
    )

    @OptionGroup var rootOptions: RootOptions
    @OptionGroup var registryFlags: RegistryFlags

    @Argument(help: "The local image name.")
    var image: String

    @Argument(help: "Where to push it (default: the image name).")
    var destination: String?

    func run() async throws {
        let (_, store, _) = try rootOptions.stores()
        let source = try parseReference(image)
        let target = try parseReference(destination ?? image)
        let pusher = ImagePusher(images: store, options: try registryFlags.options()) { line in
            CommandOutput.standardError(line + "\n")
        }
        let descriptor = try storeOperation { try pusher.push(source, to: target) }
        CommandOutput.standardOutput("\(target.familiar) \(descriptor.digest)\n")
    }
}
