import ArgumentParser
import SwiftBuildKit

/// `swiftbuild rmi IMAGE…`: remove names from the local store (blobs go with `prune`).
struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi",
        abstract: "Remove image names from the local store.",
        discussion: """
            Only the names are removed; blobs no other name needs are freed by
            `swiftbuild prune`. Examples:

              swiftbuild rmi app:1.0
              swiftbuild rmi app:1.0 app:1.1 && swiftbuild prune
            """
    )

    @OptionGroup var rootOptions: RootOptions

    @Argument(help: "Image names to remove.")
    var images: [String]

    func run() async throws {
        let (_, store, _) = try rootOptions.stores()
        var missing: [String] = []
        for name in images {
            let reference = try parseReference(name)
            if try storeOperation({ try store.remove(reference) }) {
                print("Untagged: \(reference.familiar)")
            } else {
                missing.append(name)
            }
        }
        if !missing.isEmpty { throw CommandFailure("no such image: \(missing.joined(separator: ", "))") }
    }
}
