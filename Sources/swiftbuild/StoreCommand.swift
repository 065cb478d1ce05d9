import ArgumentParser
import Foundation
import SwiftBuildOCI

/// `swiftbuild store …`: inspect and repair the local content store.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect the local content store.",
        subcommands: [StoreVerifyCommand.self]
    )
}

struct StoreVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Hash every blob again and report blobs whose content does not match their digest."
    )

    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    @Flag(help: "Move corrupt blobs into quarantine/ so they are no longer used.")
    var quarantine = false

    func run() async throws {
        let path = try root ?? ContentStore.defaultRoot(environment: ProcessInfo.processInfo.environment)
        let store = try ContentStore(root: path, create: false)
        let problems = try store.verify(action: quarantine ? .quarantine : .report)
        let count = try store.list().count
        for problem in problems { print(problem) }
        if problems.isEmpty {
            print("\(count) blobs verified in \(store.root)")
        } else {
            print("\(problems.count) problem(s) in \(store.root)")
            throw ExitCode.failure
        }
    }
}
