#if canImport(Glibc)
import Glibc
#endif

/// Sees the bytes of the files a layer's `.copy` entries read, as the tar writer reads them, so a caller can
/// hash them for another purpose (a cache key's content checksum) without reading them a second time.
public protocol LayerContentObserver: AnyObject {
    /// Called before the content of the regular file `source` (as `lstat` describes it now) is read; the tap
    /// it returns gets every byte of it, in order, then `finish`. Not called for files written as hardlinks.
    func willRead(source: String, stat: stat) -> (any LayerContentTap)?
}

/// The receiving end of one file's bytes (`LayerContentObserver`).
public protocol LayerContentTap: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer)
    /// All of the file was read (not called when reading failed).
    func finish()
}
