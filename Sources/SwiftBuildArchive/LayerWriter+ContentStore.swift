import SwiftBuildOCI

/// The store's ingest writer is a layer sink: compressed bytes go straight into `ingest/`.
extension IngestWriter: LayerSink {}

extension LayerWriter {
    /// Writes a layer straight into the content store in one pass: tree → tar → diff_id → compressor →
    /// blob digest → `ingest/` temp file, committed (fsync, rename) under its digest. Nothing is visible
    /// in the store unless the whole layer was written.
    public func write(tree root: String, into store: ContentStore,
                      observer: (any LayerContentObserver)? = nil) throws -> LayerResult {
        try ingest(into: store, observer: observer) { sink in try write(tree: root, to: sink, observer: observer) }
    }

    /// `write(entries:from:to:)` into the content store (a diff).
    public func write(entries: [LayerEntry], from root: String, into store: ContentStore,
                      observer: (any LayerContentObserver)? = nil) throws -> LayerResult {
        try ingest(into: store, observer: observer) { sink in
            try write(entries: entries, from: root, to: sink, observer: observer)
        }
    }

    /// `observer.layerWritten()` runs between writing and committing: it can still discard the layer.
    func ingest(into store: ContentStore, observer: (any LayerContentObserver)? = nil,
                _ body: (IngestWriter) throws -> LayerResult) throws -> LayerResult {
        let writer = try store.writerForHashingProducer()
        do {
            let result = try body(writer)
            try observer?.layerWritten()
            try writer.commit(expected: result.digest, expectedSize: result.size)
            return result
        } catch {
            writer.abort()
            throw error
        }
    }
}
