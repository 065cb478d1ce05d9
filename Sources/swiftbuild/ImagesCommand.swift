import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `swiftbuild images`: list the tagged images of the local store.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "List the images in the local store."
    )

    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    @Flag(name: .customLong("no-trunc"), help: "Show full digests.")
    var noTrunc = false

    func run() async throws {
        let path = try root ?? ContentStore.defaultRoot(environment: ProcessInfo.processInfo.environment)
        do {
            let content = try ContentStore(root: path)
            let store = try ImageStore(root: path, content: content)
            var rows = [["REPOSITORY", "TAG", "IMAGE ID", "SIZE"]]
            for record in try store.list() {
                let id: String
                let size: String
                if let image = try? store.image(record.manifest) {
                    id = noTrunc ? image.id.description : String(image.id.encoded.prefix(12))
                    let total = image.layers.reduce(image.configDescriptor.size + record.manifest.size) { $0 + $1.size }
                    size = Self.format(bytes: total)
                } else {
                    id = "<missing>"
                    size = "-"
                }
                let reference = record.reference
                rows.append([reference.familiarName, reference.tag ?? "<none>", id, size])
            }
            let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                let padded = row.enumerated().map { i, cell in
                    i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
                }
                print(padded.joined())
            }
        } catch let error as ImageStoreError {
            throw CommandFailure(error.description)
        } catch let error as ContentStoreError {
            throw CommandFailure(error.description)
        }
    }

    /// Docker's human sizes: 4.26MB (powers of 1000).
    static func format(bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format: "%.3g", value) + units[unit]
    }
}
