import ArgumentParser
import SwiftBuildKit

@main
struct SwiftBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftbuild",
        abstract: "Build OCI container images from Dockerfiles, without a daemon.",
        version: SwiftBuildVersion.current,
        subcommands: [BuildCommand.self, StoreCommand.self],
        defaultSubcommand: BuildCommand.self
    )
}
