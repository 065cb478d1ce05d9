import ArgumentParser
import Foundation
import SwiftBuildKit

/// `swiftbuild du`: what the root holds and why.
struct DuCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "du",
        abstract: "Show the disk usage of the store and build cache, and why.",
        discussion: """
            One line per kind: blobs of tagged images (never pruned), step cache
            records and their blobs, unpacked layers, RUN cache mounts and scratch;
            RECLAIMABLE is what `swiftbuild prune --all` may free. --verbose lists
            every item, least recently used first. Example:

              swiftbuild du --verbose
            """
    )

    @OptionGroup var rootOptions: RootOptions

    @Flag(name: .shortAndLong, help: "List every item.")
    var verbose = false

    func run() async throws {
        let manager = try storeOperation { try StorageManager(root: try rootOptions.path()) }
        let items = try storeOperation { try manager.report() }
        let now = Int64(Date().timeIntervalSince1970)
        if verbose {
            var rows = [["KIND", "ID", "SIZE", "LAST USED", "WHY"]]
            for item in items {
                let id = item.name.hasPrefix("sha256:") ? String(item.name.dropFirst(7).prefix(12)) : String(item.name.prefix(24))
                rows.append([item.kind.rawValue, id, StorageUnits.format(bytes: item.size),
                             StorageUnits.age(now - item.lastUsed), item.reason])
            }
            Table.print(rows)
            print("")
        }
        var rows = [["KIND", "ITEMS", "SIZE", "RECLAIMABLE"]]
        var total: Int64 = 0
        var reclaimable: Int64 = 0
        for kind in StorageItem.Kind.allCases {
            let group = items.filter { $0.kind == kind }
            let size = group.reduce(0) { $0 + $1.size }
            let free: Int64 = (kind == .imageBlob || kind == .temporary) ? 0 : size
            total += size
            reclaimable += free
            rows.append([kind.rawValue, "\(group.count)", StorageUnits.format(bytes: size), StorageUnits.format(bytes: free)])
        }
        rows.append(["total", "\(items.count)", StorageUnits.format(bytes: total), StorageUnits.format(bytes: reclaimable)])
        Table.print(rows)
    }
}

/// Left-aligned columns separated by three spaces, like docker's tables.
enum Table {
    static func print(_ rows: [[String]]) {
        guard let columns = rows.map(\.count).max() else { return }
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
            }
            Swift.print(cells.joined())
        }
    }
}
