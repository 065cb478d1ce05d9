#if canImport(Glibc)
import Glibc
#endif

/// Sees the bytes of the regular files a layer writer reads, as it reads them, so a caller can hash or check
/// them (a cache key's content checksum, the secret-leak guard) without reading them a second time.
public protocol LayerContentObserver: AnyObject {
    /// Called before the content of a regular file is read: `source` is where it is read from, `path` its
    /// path in the layer, `stat` what `lstat` says of `source` now. The tap it returns gets every byte, in
    /// order, then `finish`. Not called for the second and later links of a hardlinked file (written as links).
    func willRead(source: String, path: String, stat: stat) -> (any LayerContentTap)?
    /// Called after the whole layer was written and before it is committed to the content store: throwing
    /// here discards the layer (nothing is stored).
    func layerWritten() throws
}

extension LayerContentObserver {
    public func layerWritten() throws {}
}

/// The receiving end of one file's bytes (`LayerContentObserver`).
public protocol LayerContentTap: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer)
    /// All of the file was read (not called when reading failed).
    func finish()
}

/// Several observers of one layer, each getting every file.
public final class LayerContentObservers: LayerContentObserver {
    private let observers: [any LayerContentObserver]

    public init(_ observers: [any LayerContentObserver]) { self.observers = observers }

    public func willRead(source: String, path: String, stat: stat) -> (any LayerContentTap)? {
        let taps = observers.compactMap { $0.willRead(source: source, path: path, stat: stat) }
        switch taps.count {
        case 0: return nil
        case 1: return taps[0]
        default: return Taps(taps)
        }
    }

    public func layerWritten() throws {
        for observer in observers { try observer.layerWritten() }
    }

    private final class Taps: LayerContentTap {
        let taps: [any LayerContentTap]
        init(_ taps: [any LayerContentTap]) { self.taps = taps }
        func update(_ bytes: UnsafeRawBufferPointer) { for tap in taps { tap.update(bytes) } }
        func finish() { for tap in taps { tap.finish() } }
    }
}
