import ArgumentParser
import Foundation
import SwiftBuildDockerfile

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Dockerfile and a context directory.",
        discussion: """
            Flags follow docker buildx. Today the frontend runs: the Dockerfile is parsed, every instruction is
            validated and the stages for --target are resolved with --build-arg values; executing the steps
            arrives with the build engine.
            """
    )

    @Option(name: [.customShort("f"), .customLong("file")], help: "Name of the Dockerfile (default: CONTEXT/Dockerfile).")
    var file: String?

    @Option(help: "Set the target build stage to build.")
    var target: String?

    @Option(name: .customLong("build-arg"), help: "Set a build-time variable (KEY=VALUE, or KEY to take it from the environment).")
    var buildArgs: [String] = []

    @Option(help: "Set the target platform for the build (os/arch[/variant]).")
    var platform: String?

    @Argument(help: "The build context directory.")
    var context: String = "."

    func run() async throws {
        let path = file ?? (context as NSString).appendingPathComponent("Dockerfile")
        let bytes: [UInt8]
        do {
            bytes = try CommandInput.read(path)
        } catch {
            throw CommandFailure("cannot read the Dockerfile \(path): \(error.localizedDescription)")
        }
        var args: [String: String] = [:]
        for entry in buildArgs {
            if let eq = entry.firstIndex(of: "=") {
                args[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
            } else if let value = ProcessInfo.processInfo.environment[entry] {
                args[entry] = value
            }
        }
        let host = BuildPlatform(os: "linux", architecture: Self.hostArchitecture)
        var targetPlatform = host
        if let platform {
            guard let parsed = BuildPlatform(parsing: platform) else {
                throw CommandFailure("invalid --platform \"\(platform)\": expected os/arch[/variant]")
            }
            targetPlatform = parsed
        }
        let name = file ?? "Dockerfile"
        do {
            let definition = try BuildDefinition(DockerfileParser().parse(bytes: bytes))
            let stage = try definition.target(target)
            let resolver = StageResolver(definition: definition, buildArguments: args, buildPlatform: host,
                                         targetPlatform: targetPlatform)
            let resolved = try resolver.resolve(stage)
            throw CommandFailure("""
                \(name) is valid (\(definition.stages.count) stage(s); target \(stage.name ?? "#\(stage.index)") \
                FROM \(resolved.base), \(resolved.steps.count) step(s)), but running builds is not implemented yet: \
                the build engine is the next milestone
                """)
        } catch let error as DockerfileError {
            throw CommandFailure(error.formatted(fileName: name, source: bytes))
        }
    }

    static var hostArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }
}
