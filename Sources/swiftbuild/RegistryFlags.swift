import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `--insecure-registry` (added to those of the registry configuration file, see `RegistryConfigFile`), shared
/// by the commands that talk to registries; credentials come from docker's config file ($DOCKER_CONFIG/config.json,
/// else ~/.docker/config.json).
struct RegistryFlags: ParsableArguments {
    @Option(name: .customLong("insecure-registry"),
            help: "A registry (host[:port]) reached over plain HTTP; repeatable. localhost and 127.0.0.1 always are.")
    var insecureRegistries: [String] = []

    func options() throws -> RegistryOptions {
        do {
            let environment = ProcessInfo.processInfo.environment
            let credentials = try RegistryCredentials.load(environment: environment)
            let configured = try RegistryConfigFile.insecureRegistries(environment: environment)
            return RegistryOptions(insecureRegistries: configured.union(insecureRegistries), credentials: credentials)
        } catch let error as RegistryConfigFile.Failure {
            throw CommandFailure(error.description)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// `https://index.docker.io/v1/`, `registry-1.docker.io` → `docker.io`; `https://host:5000/` → `host:5000`.
    static func domain(_ server: String) -> String {
        var host = Substring(server)
        if host.hasPrefix("https://") { host = host.dropFirst(8) } else if host.hasPrefix("http://") { host = host.dropFirst(7) }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(host)
        }
    }
}
