import SwiftBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// How one step's changes become several layers a registry client can pull in parallel: cut at file
/// boundaries, in tar order, into layers of at most `maximum` tar bytes, and every file of at least
/// `ownLayer` bytes in a layer of its own (so a change elsewhere never re-uploads it). The cut depends on the
/// entries and their sizes only, so the same input always gives the same layers. Each later layer starts with
/// the directories (from earlier layers) its entries are in, so every layer sets the metadata of the
/// directories it writes into and the unpacked file system is the single layer's (with extractors that set a
/// directory's times after its layer, as containerd, umoci, podman and GNU tar do). Whiteouts and opaque
/// markers are never repeated. The second link of a hardlinked file in a later layer is a copy of the file.
public struct LayerSplit: Sendable, Hashable {
    /// Tar bytes per layer at most (a file bigger than this is still one layer).
    public var maximum: Int64
    /// Files at least this big get a layer of their own.
    public var ownLayer: Int64
    /// Whether to split only when the whole layer is bigger than `maximum` or holds a file of at least `ownLayer`
    /// (the default policy); with `split-layers=SIZE` given, every layer is cut.
    public var onlyWhenLarger: Bool

    public static let defaultMaximum: Int64 = 2 << 30
    public static let defaultOwnLayer: Int64 = 256 << 20

    /// BuildKit has no such option; by default, layers over 2 GiB and layers with a file of 256 MiB or more are
    /// split.
    public static let `default` = LayerSplit(maximum: defaultMaximum, ownLayer: defaultOwnLayer, onlyWhenLarger: true)
    /// Never split (`split-layers=0`).
    public static let never = LayerSplit(maximum: .max, ownLayer: .max, onlyWhenLarger: true)

    public init(maximum: Int64, ownLayer: Int64 = LayerSplit.defaultOwnLayer, onlyWhenLarger: Bool = false) {
        self.maximum = maximum
        self.ownLayer = ownLayer
        self.onlyWhenLarger = onlyWhenLarger
    }

    /// The tar size of a list of entries, as whoever made the list saw it: 512 bytes of header per entry plus each
    /// regular file's content in whole blocks, and the largest file.
    public struct Sizes: Sendable, Hashable {
        public var tarBytes: Int64 = 0
        public var largestFile: Int64 = 0

        public init() {}

        /// Counts one more entry (`fileSize` 0 for anything but a regular file).
        public mutating func add(fileSize: Int64) {
            tarBytes += Self.entryBytes(fileSize: fileSize)
            largestFile = max(largestFile, fileSize)
        }

        /// The tar bytes of one entry: its header and its content in whole blocks.
        static func entryBytes(fileSize: Int64) -> Int64 { 512 + (fileSize + 511) / 512 * 512 }
    }

    /// Whether a layer of these sizes is written whole, without looking at its entries.
    func keepsWhole(_ sizes: Sizes) -> Bool {
        onlyWhenLarger && sizes.tarBytes <= maximum && sizes.largestFile < ownLayer
    }

    /// The entries of each layer, in order. `entries` as `LayerWriter.write(entries:from:to:)` takes them; files
    /// are sized with `lstat` under `root` (or at a `copy`'s source), unless `sizes` (from the walk that made the
    /// list) already show the layer stays whole.
    func groups(_ entries: [LayerEntry], root: String, sizes: Sizes? = nil) throws -> [[LayerEntry]] {
        if let sizes, keepsWhole(sizes) { return [entries] }
        var items: [(path: [UInt8], entry: LayerEntry, size: Int64, isDirectory: Bool)] = []
        items.reserveCapacity(entries.count)
        var counted = Sizes()
        var rootBytes = Array(root.utf8)
        while rootBytes.count > 1 && rootBytes.last == 0x2f { rootBytes.removeLast() }
        if rootBytes == [0x2f] { rootBytes = [] }
        let base = String(decoding: rootBytes, as: UTF8.self)
        for entry in entries {
            var host: String?
            let path: String
            switch entry {
            case .path(let p): path = p; host = base + "/" + p
            case .copy(let p, let source, _): path = p; host = source
            case .directory(let p, _): path = p
            case .whiteout(let p), .opaqueDirectory(let p): path = p
            }
            var size: Int64 = 0
            var isDirectory = false
            if case .directory = entry { isDirectory = true }
            if let host {
                var st = stat()
                if lstat(host, &st) == 0 {
                    isDirectory = st.st_mode & S_IFMT == S_IFDIR
                    if st.st_mode & S_IFMT == S_IFREG { size = Int64(st.st_size) }
                }
            }
            counted.add(fileSize: size)
            items.append((try TarPathOrder.normalized(path), entry, size, isDirectory))
        }
        if keepsWhole(counted) { return [entries] }
        items.sort { TarPathOrder.less($0.path, $1.path) }

        var groups: [[Int]] = []
        var current: [Int] = []
        var bytes: Int64 = 0
        for (i, item) in items.enumerated() {
            let cost = Sizes.entryBytes(fileSize: item.size)
            if item.size >= ownLayer {
                if !current.isEmpty { groups.append(current) }
                groups.append([i])
                current = []
                bytes = 0
                continue
            }
            if bytes + cost > maximum && !current.isEmpty {
                groups.append(current)
                current = []
                bytes = 0
            }
            current.append(i)
            bytes += cost
        }
        if !current.isEmpty { groups.append(current) }
        if groups.count <= 1 { return [entries] }

        // Directories already written by an earlier layer, by path: repeated before their contents.
        var directories: [[UInt8]: Int] = [:]
        var out: [[LayerEntry]] = []
        for group in groups {
            var repeated: [Int] = []
            var seen = Set<Int>()
            let members = Set(group)
            for i in group {
                var path = items[i].path
                while let slash = path.lastIndex(of: 0x2f) {
                    path.removeSubrange(slash...)
                    if let d = directories[path], !members.contains(d), seen.insert(d).inserted { repeated.append(d) }
                }
            }
            let ordered = repeated.sorted { TarPathOrder.less(items[$0].path, items[$1].path) } + group
            out.append(ordered.map { items[$0].entry })
            for i in group where items[i].isDirectory { directories[items[i].path] = i }
        }
        return out
    }
}

extension LayerWriter {
    /// `write(entries:from:into:observer:)`, cut into several layers by `split` (one when it need not cut).
    /// `sizes`, when the caller knows them, spare the split its own `lstat` of every entry.
    public func write(entries: [LayerEntry], from root: String, into store: ContentStore,
                      observer: (any LayerContentObserver)? = nil, split: LayerSplit,
                      sizes: LayerSplit.Sizes? = nil) throws -> [LayerResult] {
        try split.groups(entries, root: root, sizes: sizes).map { group in
            try write(entries: group, from: root, into: store, observer: observer)
        }
    }
}
