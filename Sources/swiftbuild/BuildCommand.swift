import ArgumentParser
import SwiftBuildKit

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Dockerfile and a context directory."
    )

    @Option(name: [.customShort("f"), .customLong("file")], help: "Name of the Dockerfile (default: CONTEXT/Dockerfile).")
    var file: String?

    @Argument(help: "The build context directory.")
    var context: String = "."

    func run() async throws {
        throw ValidationError("building images is not implemented yet")
    }
}
