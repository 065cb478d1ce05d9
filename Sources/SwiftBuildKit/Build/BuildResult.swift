import SwiftBuildOCI

/// What a build produced: the image (in the content store, tagged in the image store) and its parts.
public struct BuildResult: Sendable {
    /// The image manifest; for a multi-platform build, the image index.
    public var manifest: Descriptor
    /// The image config (its digest is the image id); of the first platform's image in a multi-platform build.
    public var config: Descriptor
    public var imageConfig: ImageConfig
    /// The `-t` names it was tagged with.
    public var tags: [ImageReference]
    /// How many COPY steps went from the build context straight into their layers (`streamsContextCopies`).
    public var streamedCopies: Int = 0
    /// A multi-platform build's images, one per platform in the order asked for (empty for one platform).
    public var platforms: [PlatformResult] = []
    /// What was written: the image, or the index and its images.
    public var written: ImageSet? = nil

    /// One platform's image of a multi-platform build, and how long its run took.
    public struct PlatformResult: Sendable {
        public var platform: Platform
        public var manifest: Descriptor
        public var config: Descriptor
        public var seconds: Double
    }
}
