import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `swiftbuild images`: list the tagged images of the local store.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "List the images in the local store.",
        discussion: """
            Columns: name, tag, manifest digest (with --digests), image ID (the
            config digest), when the image was created (its config's `created`,
            which SOURCE_DATE_EPOCH sets), its compressed size (layers, config
            and manifest) and its platforms. A multi-platform image (an index)
            shows its index digest, the host's image (else the first platform's)
            and every platform it holds. Examples:

              swiftbuild images
              swiftbuild images --digests --no-trunc
            """
    )

    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    @Flag(name: .customLong("no-trunc"), help: "Show full digests.")
    var noTrunc = false

    @Flag(help: "Show the manifest digests.")
    var digests = false

    func run() async throws {
        let path = try root ?? ContentStore.defaultRoot(environment: ProcessInfo.processInfo.environment)
        do {
            let content = try ContentStore(root: path)
            let store = try ImageStore(root: path, content: content)
            let now = Int64(Date().timeIntervalSince1970)
            var rows = [["REPOSITORY", "TAG"] + (digests ? ["DIGEST"] : []) + ["IMAGE ID", "CREATED", "SIZE", "PLATFORMS"]]
            for record in try store.list() {
                let id: String
                let size: String
                var created = "-"
                let platforms = ((try? store.platforms(record.manifest)) ?? []).map(\.platform.description)
                if let image = try? store.preferredImage(record.manifest) {
                    id = noTrunc ? image.id.description : String(image.id.encoded.prefix(12))
                    let total = image.layers.reduce(image.configDescriptor.size + record.manifest.size) { $0 + $1.size }
                    size = StorageUnits.format(bytes: total)
                    if let time = image.config.created.flatMap(StorageUnits.parseTimestamp) {
                        created = StorageUnits.age(now - time)
                    }
                } else {
                    id = "<missing>"
                    size = "-"
                }
                let reference = record.reference
                let digest = noTrunc ? record.manifest.digest.description : String(record.manifest.digest.description.prefix(19))
                rows.append([reference.familiarName, reference.tag ?? "<none>"] + (digests ? [digest] : []) + [id, created, size, platforms.isEmpty ? "-" : platforms.joined(separator: ",")])
            }
            Table.print(rows)
        } catch let error as ImageStoreError {
            throw CommandFailure(error.description)
        } catch let error as ContentStoreError {
            throw CommandFailure(error.description)
        }
    }
}
