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

    @Option(name: [.short, .customLong("input")], help: "The archive file or layout directory to read (default: standard input).")
    var input: String = "-"

    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    func run() async throws {
        let path = try root ?? ContentStore.defaultRoot(environment: ProcessInfo.processInfo.environment)
        do {
            let content = try ContentStore(root: path)
            let store = try ImageStore(root: path, content: content)
            var source = input
            if input == "-" {
                source = try Self.spoolStandardInput(into: path + "/tmp")
            }
            defer { if source != input { try? FileManager.default.removeItem(atPath: source) } }
            let images = try ImageLoader.load(from: source, into: content, store: store)
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

    /// Copies standard input into a new file under `directory` (an archive is read more than once).
    static func spoolStandardInput(into directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/load-stdin-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: file, contents: nil) else {
            throw CommandFailure("cannot create \(file)")
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        defer { try? output.close() }
        while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
            try output.write(contentsOf: chunk)
        }
        return file
    }
}
