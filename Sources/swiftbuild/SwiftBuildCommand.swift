import CSys
import ArgumentParser
import Foundation
import SwiftBuildKit

@main
struct SwiftBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftbuild",
        abstract: "Build OCI container images from Dockerfiles, without a daemon.",
        discussion: """
            `swiftbuild [build] …` takes docker buildx's flags. Images go to a local
            store in the root (--root, else $SWIFTBUILD_ROOT, else
            ~/.local/share/swiftbuild) and to every -o output.

            Examples:
              swiftbuild -t app:1.0 .                    # build ./Dockerfile
              swiftbuild -t app:1.0 -o type=oci,dest=app.tar .
              swiftbuild --target app-web -o type=docker,dest=web.tar ctx/
              swiftbuild images                          # list the store
              swiftbuild inspect app:1.0                 # manifest, config
              swiftbuild save app:1.0 --format docker -o app-docker.tar
              swiftbuild load -i app.tar                 # OCI or docker
              swiftbuild du                              # disk usage
              swiftbuild prune --keep-storage 10GB       # evict build cache

            `swiftbuild help COMMAND` shows each command's flags and examples.
            Shell completion (bash, zsh, fish):
              swiftbuild --generate-completion-script bash \\
                > /etc/bash_completion.d/swiftbuild
            """,
        version: SwiftBuildVersion.current,
        subcommands: [BuildCommand.self, ImagesCommand.self, InspectCommand.self, TagCommand.self, RmiCommand.self,
                      SaveCommand.self, LoadCommand.self, DuCommand.self, PruneCommand.self, ParseCommand.self,
                      StoreCommand.self, PullCommand.self, PushCommand.self, LoginCommand.self,
                      LogoutCommand.self, VersionCommand.self],
        defaultSubcommand: BuildCommand.self
    )

    /// Whether the command line runs a command that reads or writes the store (help, version, parse, login and
    /// logout do not, and need no user namespace).
    static func usesTheStore(_ arguments: [String]) -> Bool {
        let words = arguments.dropFirst()
        if words.contains(where: { ["-h", "--help", "--version", "--generate-completion-script"].contains($0) }) {
            return false
        }
        guard let first = words.first(where: { !$0.hasPrefix("-") }) else { return true }
        return !["help", "version", "parse", "login", "logout"].contains(first)
    }

    /// Failures phrased for people print as one clear message and exit 1; the rest go to argument-parser.
    static func main() async {
        // The CLI owns its process: two malloc arenas and a fixed 128 KiB mmap threshold keep peak memory low
        // and steady (see CSys; measured in perf/README.md). The library leaves the allocator alone.
        swiftbuild_tune_malloc(2, 128 << 10)
        // An ordinary user's swiftbuild (or a root that cannot mount) runs again as root of a user namespace of its
        // own (rootless).
        let environment = ProcessInfo.processInfo.environment
        if environment[UserNamespace.marker] == nil, UserNamespace.needed, Self.usesTheStore(CommandLine.arguments) {
            do {
                let code = try UserNamespace.run(arguments: CommandLine.arguments, environment: environment) {
                    CommandOutput.standardError("warning: \($0)\n")
                }
                Foundation.exit(code)
            } catch {
                CommandOutput.standardError("error: \(error)\n")
                Foundation.exit(1)
            }
        }
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
