import ArgumentParser
import Foundation
import SwiftBuildKit

@main
struct SwiftBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftbuild",
        abstract: "Build OCI container images from Dockerfiles, without a daemon.",
        version: SwiftBuildVersion.current,
        subcommands: [BuildCommand.self, ImagesCommand.self, InspectCommand.self, TagCommand.self, RmiCommand.self,
                      SaveCommand.self, LoadCommand.self, DuCommand.self, PruneCommand.self, ParseCommand.self,
                      StoreCommand.self],
        defaultSubcommand: BuildCommand.self
    )

    /// Failures phrased for people print as one clear message and exit 1; the rest go to argument-parser.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            CommandOutput.standardError("error: \(failure.description)\n")
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
