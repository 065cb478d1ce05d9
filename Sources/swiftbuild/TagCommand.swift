import ArgumentParser
import SwiftBuildKit

/// `swiftbuild tag SRC DST`: another name for an image of the local store.
struct TagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Create a name TARGET that refers to the image SOURCE.",
        discussion: """
            Examples:

              swiftbuild tag app:latest app:1.2.3
              swiftbuild tag app:latest ghcr.io/me/app:$(git rev-parse --short HEAD)
            """
    )

    @OptionGroup var rootOptions: RootOptions

    @Argument(help: "The existing image name.")
    var source: String

    @Argument(help: "The new name.")
    var target: String

    func run() async throws {
        let (_, store, _) = try rootOptions.stores()
        let from = try parseReference(source)
        let to = try parseReference(target)
        guard to.tag != nil else { throw CommandFailure("\(target): a target name needs a tag, not a digest") }
        try storeOperation {
            guard let descriptor = try store.resolve(from) else { throw CommandFailure("no such image: \(source)") }
            try store.tag(to, manifest: descriptor)
        }
    }
}
