import ArgumentParser
import Foundation
import SwiftBuildKit

/// `swiftbuild prune`: free build cache, least recently used first.
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove build cache: step cache records, unpacked layers and blobs no tagged image needs.",
        discussion: """
            Least recently used items go first. Blobs a tagged image needs are never
            removed (remove names with `swiftbuild rmi` first). RUN cache mounts are
            removed only with --all. Do not prune a root a build is using at the same
            time, or spare recent items with --filter until=DURATION. Examples:

              swiftbuild prune                          # all build cache
              swiftbuild prune --keep-storage 10GB      # down to 10 GiB, LRU first
              swiftbuild prune --filter until=24h       # unused for a day
              swiftbuild prune --all                    # also cache mounts

            Automatic GC: with SWIFTBUILD_GC_KEEP_STORAGE=SIZE set, every build
            ends with `prune --keep-storage SIZE`, sparing items used in the last
            minute.
            """
    )

    @OptionGroup var rootOptions: RootOptions

    @Flag(name: [.short, .customLong("all")], help: "Also remove RUN --mount=type=cache directories.")
    var all = false

    @Option(name: .customLong("keep-storage"), help: "Stop once the root holds at most this much (e.g. 10GB, 512MB).")
    var keepStorage: String?

    @Option(help: "until=DURATION: only items unused that long (24h, 30m, 7d).")
    var filter: [String] = []

    @Flag(name: [.short, .customLong("force")], help: "Accepted for buildx compatibility (never asks).")
    var force = false

    @Flag(name: .shortAndLong, help: "List what was removed.")
    var verbose = false

    func run() async throws {
        var policy = PrunePolicy(all: all)
        if let keepStorage {
            guard let bytes = StorageUnits.parseSize(keepStorage) else {
                throw CommandFailure("invalid --keep-storage \"\(keepStorage)\": use e.g. 10GB or 512MB")
            }
            policy.keepStorage = bytes
        }
        for entry in filter {
            guard entry.hasPrefix("until="), let seconds = StorageUnits.parseDuration(String(entry.dropFirst(6))) else {
                throw CommandFailure("invalid --filter \"\(entry)\": only until=DURATION (e.g. until=24h) is supported")
            }
            policy.unusedFor = seconds
        }
        let manager = try storeOperation { try StorageManager(root: try rootOptions.path()) }
        let result = try storeOperation { try manager.prune(policy) }
        if verbose {
            for item in result.removed { print("removed \(item.kind.rawValue) \(item.name) (\(StorageUnits.format(bytes: item.size)))") }
        }
        print("Total: \(StorageUnits.format(bytes: result.reclaimed)) reclaimed in \(result.removed.count) item(s); "
              + "\(StorageUnits.format(bytes: result.remaining)) left")
    }
}
