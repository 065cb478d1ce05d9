import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `swiftbuild load -i FILE|DIR`: store the images of an OCI archive or layout, or of a docker-archive.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load images from an OCI archive, an OCI layout directory or a docker-archive tarball."
    )

    @Option(name: [.short, .customLong("input")], help: "The archive file or layout directory to read.")
    var input: String

    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    func run() async throws {
        let path = try root ?? ContentStore.defaultRoot(environment: ProcessInfo.processInfo.environment)
        do {
            let content = try ContentStore(root: path)
            let store = try ImageStore(root: path, content: content)
            let images = try ImageLoader.load(from: input, into: content, store: store)
            for image in images {
                if image.references.isEmpty {
                    print("Loaded image ID: \(image.manifest.digest)")
                }
                for reference in image.references { print("Loaded image: \(reference.familiar)") }
            }
        } catch let error as ImageStoreError {
            throw CommandFailure("load \(input): \(error.description)")
        } catch let error as ContentStoreError {
            throw CommandFailure(error.description)
        }
    }
}
