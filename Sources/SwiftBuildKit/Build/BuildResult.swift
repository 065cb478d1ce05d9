import SwiftBuildOCI

/// What a build produced: the image (in the content store, tagged in the image store) and its parts.
public struct BuildResult: Sendable {
    /// The image manifest.
    public var manifest: Descriptor
    /// The image config (its digest is the image id).
    public var config: Descriptor
    public var imageConfig: ImageConfig
    /// The `-t` names it was tagged with.
    public var tags: [ImageReference]
    /// How many COPY steps went from the build context straight into their layers (`streamsContextCopies`).
    public var streamedCopies: Int = 0
}
