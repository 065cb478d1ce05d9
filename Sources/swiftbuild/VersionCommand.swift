import ArgumentParser
import SwiftBuildArchive
import SwiftBuildKit

/// `swiftbuild version`: the version, and what writes layer bytes (the compressors and their self-test), since
/// a layer's digest depends on them.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Show the version and the layer compressors.")

    @Flag(help: "Also print the compressor self-test digests (they must be the same on every CPU).")
    var verbose = false

    func run() throws {
        var text = "swiftbuild \(SwiftBuildVersion.current)\ngzip: \(DeflateEngine.description)\n"
        if verbose {
            for (level, digest) in DeflateEngine.selfTestDigests().enumerated() {
                text += "isa-l level \(level) self-test: \(digest)\n"
            }
        }
        CommandOutput.standardOutput(text)
    }
}
