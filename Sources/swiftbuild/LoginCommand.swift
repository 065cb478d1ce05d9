import ArgumentParser
import Foundation
import SwiftBuildOCI

/// `swiftbuild login [-u USER] [--password-stdin] [SERVER]`: check credentials with the registry and store them
/// in docker's config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), as `docker login` does.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a registry (credentials go to docker's config.json).",
        discussion: """
            Examples:

              echo "$TOKEN" | swiftbuild login -u me --password-stdin ghcr.io
            """
    )

    @OptionGroup var registryFlags: RegistryFlags

    @Option(name: [.short, .customLong("username")], help: "The user name.")
    var username: String?

    @Option(name: [.short, .customLong("password")], help: "The password (prefer --password-stdin).")
    var password: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
    var passwordStdin = false

    @Argument(help: "The registry (default: Docker Hub).")
    var server: String = "docker.io"

    func run() async throws {
        guard let username, !username.isEmpty else { throw CommandFailure("login needs a user name (-u)") }
        var secret = password ?? ""
        if passwordStdin {
            secret = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            while secret.hasSuffix("\n") || secret.hasSuffix("\r") { secret.removeLast() }
        }
        guard !secret.isEmpty else { throw CommandFailure("login needs a password (--password-stdin or -p)") }
        let domain = RegistryFlags.domain(server)
        let credential = RegistryCredential(username: username, password: secret)
        var options = try registryFlags.options()
        options.credentials = RegistryCredentials(entries: [domain: credential])
        try storeOperation {
            try RegistryClient(domain: domain, options: options).checkLogin()
            try RegistryCredentials.save(credential, for: domain, environment: ProcessInfo.processInfo.environment)
        }
        CommandOutput.standardOutput("Login Succeeded\n")
    }
}

/// `swiftbuild logout [SERVER]`: remove the registry's credentials from docker's config file.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout", abstract: "Remove a registry's credentials from docker's config.json.")

    @Argument(help: "The registry (default: Docker Hub).")
    var server: String = "docker.io"

    func run() async throws {
        let domain = RegistryFlags.domain(server)
        let removed = try storeOperation {
            try RegistryCredentials.save(nil, for: domain, environment: ProcessInfo.processInfo.environment)
        }
        CommandOutput.standardOutput(removed ? "Removing login credentials for \(domain)\n"
                                             : "Not logged in to \(domain)\n")
    }
}
