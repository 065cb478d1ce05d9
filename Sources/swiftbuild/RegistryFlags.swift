import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `--insecure-registry`, shared by the commands that talk to registries; credentials come from docker's
/// config file ($DOCKER_CONFIG/config.json, else ~/.docker/config.json).
struct RegistryFlags: ParsableArguments {
    @Option(name: .customLong("insecure-registry"),
            help: "A registry (host[:port]) reached over plain HTTP; repeatable. localhost and 127.0.0.1 always are.")
    var insecureRegistries: [String] = []

    func options() throws -> RegistryOptions {
        do {
            let credentials = try RegistryCredentials.load(environment: ProcessInfo.processInfo.environment)
            return RegistryOptions(insecureRegistries: Set(insecureRegistries), credentials: credentials)
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
