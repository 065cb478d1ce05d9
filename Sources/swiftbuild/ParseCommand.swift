import ArgumentParser
import Foundation
import SwiftBuildDockerfile

struct ParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Print a Dockerfile's node tree in BuildKit's dump format.",
        discussion: """
            One line per instruction, e.g. (copy ["--chown=1:1"] "a" "/b"). Parse warnings go to standard error.
            With a parse error, the error and the offending lines are printed and the exit status is 1.
            """
    )

    @Option(name: [.customShort("f"), .customLong("file")], help: "The Dockerfile to parse ('-' for standard input).")
    var file: String = "Dockerfile"

    func run() async throws {
        let bytes: [UInt8]
        do {
            bytes = try CommandInput.read(file)
        } catch {
            throw CommandFailure("cannot read \(file): \(error.localizedDescription)")
        }
        let name = file == "-" ? "Dockerfile" : file
        do {
            let parsed = try DockerfileParser().parse(bytes: bytes)
            for warning in parsed.warnings {
                CommandOutput.standardError("\(name):\(warning.range.start.line): warning: \(warning.short)\n")
            }
            CommandOutput.standardOutput(parsed.dump + "\n")
        } catch {
            throw CommandFailure(error.formatted(fileName: name, source: bytes))
        }
    }
}
