import SwiftBuildOCI

/// What a build reports as it goes: typed events an embedder can render, log or test against.
/// The CLI turns them into `--progress=plain|tty|json` output.
public enum BuildEvent: Sendable, Equatable {
    /// A step (vertex) is known: `#N [stage i/n] INSTRUCTION`.
    case stepPlanned(Step)
    case stepStarted(id: Int)
    /// The step's cache key and what it was made of (before the cache is consulted).
    case stepCacheKey(id: Int, key: CacheKey)
    /// The step's result came from the cache; nothing ran.
    case stepCached(id: Int, key: Digest)
    /// The step will run: why its key found nothing, against the last build of the same step.
    case stepCacheMiss(id: Int, explanation: CacheMissExplanation)
    /// Output of a RUN step (stdout and stderr interleaved), as it arrives.
    case stepOutput(id: Int, bytes: [UInt8])
    case stepFinished(id: Int, seconds: Double, key: Digest?, layerBytes: Int64?)
    case stepFailed(id: Int, seconds: Double, message: String)
    /// Something the user should know that does not stop the build (e.g. a `--cache-from` that does not exist).
    case warning(String)
    /// How RUN steps are isolated on this machine (sent once, before the first RUN runs).
    case sandbox(String)
    /// The whole build finished with this image.
    case buildFinished(manifest: Digest, config: Digest, seconds: Double)

    public struct Step: Sendable, Equatable {
        /// Build-wide step number (the `#N` of plain progress), from 1.
        public var id: Int
        /// `stage-name` or the stage index.
        public var stage: String
        /// 1-based position within the stage, and the stage's step count (FROM included); 0 for a step of the
        /// build itself (`[internal] load metadata for …`), which belongs to no stage.
        public var index: Int
        public var count: Int
        /// The instruction as written (first line), e.g. `RUN make`.
        public var text: String
        /// The platform the step builds for, in a multi-platform build or a stage of a platform that is not the
        /// host's (whose RUN steps are emulated); nil otherwise.
        public var platform: String?

        public init(id: Int, stage: String, index: Int, count: Int, text: String, platform: String? = nil) {
            self.id = id
            self.stage = stage
            self.index = index
            self.count = count
            self.text = text
            self.platform = platform
        }

        /// What progress shows in brackets: `stage 2/5` (`linux/arm64 stage 2/5` with a platform), or
        /// `internal` for a step of the build itself.
        public var label: String {
            guard count > 0 else { return stage }
            return (platform.map { $0 + " " } ?? "") + "\(stage) \(index)/\(count)"
        }
    }
}
