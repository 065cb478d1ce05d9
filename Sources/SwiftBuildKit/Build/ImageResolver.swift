import Foundation
import Synchronization
import SwiftBuildDockerfile
import SwiftBuildOCI

/// Every image a build names (FROM, `COPY --from`, `RUN --mount=from=`, named contexts), each resolved once
/// per build to one manifest digest and config: the local store, a named context, or the registry (which pulls
/// it). The planner expands words with these images' ENV, the cache keys use their digests and the steps read
/// their layers, so all three always agree, on a warm machine and on a fresh CI runner alike.
final class ImageResolver: Sendable {
    /// One resolution, as progress shows it: `#N [internal] load metadata for NAME`.
    struct Progress: Sendable {
        /// A new `[internal]` step for resolving an image; whether its text names the platform.
        var planned: @Sendable (_ wanted: ImageRequest, _ showsPlatform: Bool) -> Int
        var events: @Sendable (BuildEvent) -> Void
    }

    let builder: Builder
    let request: BuildRequest
    /// The machine's platform, and whether the build has several targets: progress names the platform of a
    /// resolution in a multi-platform build, or for a platform that is not the host's.
    let host: BuildPlatform
    let multiPlatform: Bool
    private let progress: Progress
    private let resolved = Mutex<[ImageRequest: Image]>([:])
    /// Names whose resolution failed: an error only if the final plan still needs them.
    private let failures = Mutex<[ImageRequest: BuildError]>([:])

    init(builder: Builder, request: BuildRequest, host: BuildPlatform, multiPlatform: Bool, progress: Progress) {
        self.builder = builder
        self.request = request
        self.host = host
        self.multiPlatform = multiPlatform
        self.progress = progress
    }

    /// The resolved image of `name`, if resolved.
    func resolvedImage(_ wanted: ImageRequest) -> Image? { resolved.withLock { $0[wanted] } }

    /// Whether `name` names an image (not a directory given with `--build-context`, which COPY reads as is).
    func isImage(_ name: String) -> Bool {
        if case .directory = request.buildContexts[name.lowercased()] { return false }
        return true
    }

    /// Whether `name` has been tried (resolved, or failed).
    func isSettled(_ wanted: ImageRequest) -> Bool {
        resolved.withLock { $0[wanted] != nil } || failures.withLock { $0[wanted] != nil }
    }

    /// The resolved image of `name`; a name the plan needs that did not resolve throws that failure.
    func image(_ wanted: ImageRequest) throws -> Image {
        if let image = resolvedImage(wanted) { return image }
        if let failure = failures.withLock({ $0[wanted] }) { throw failure }
        // Only an ONBUILD trigger of a base image can name an image the plan did not see: resolve it now.
        return try resolveOne(wanted, stepID: nil)
    }

    /// Resolves the names not yet tried, in parallel (bounded by the registry's transfer limit). Failures are
    /// kept, not thrown: `image(_:)` throws them if the final plan needs the name.
    func resolve(_ names: [ImageRequest]) async {
        let pending = Array(Set(names.filter { !isSettled($0) })).sorted { $0.description < $1.description }
        guard !pending.isEmpty else { return }
        let ids = pending.map { progress.planned($0, multiPlatform || $0.platform != host) }
        await BlockingExecutor.shared.forEach(Array(zip(pending, ids)),
                                              limit: request.registry?.parallelTransfers ?? 4) { wanted, id in
            let clock = ContinuousClock()
            let started = clock.now
            self.progress.events(.stepStarted(id: id))
            do {
                let image = try self.resolveOne(wanted, stepID: id)
                self.progress.events(.stepFinished(id: id, seconds: (clock.now - started).seconds,
                                                   key: image.manifestDescriptor.digest, layerBytes: nil))
            } catch {
                let failure = error as? BuildError ?? BuildError("\(error)", cause: error)
                self.failures.withLock { $0[wanted] = failure }
                self.progress.events(.stepFailed(id: id, seconds: (clock.now - started).seconds,
                                                 message: failure.message))
            }
        }
    }

    private func resolveOne(_ wanted: ImageRequest, stepID: Int?) throws -> Image {
        let (name, platform) = (wanted.name, Platform(wanted.platform))
        let image: Image
        switch request.buildContexts[name.lowercased()] {
        case .ociLayout(let path, let tag, let digest):
            image = try OCILayoutSource(path: path, content: builder.content, images: builder.images)
                .image(tag: tag, digest: digest, platform: platform)
        case .dockerImage(let reference):
            image = try resolveStoredImage(reference, platform: platform, stepID: stepID)
        case .directory(let path):
            throw BuildError("build context \(name) is a directory (\(path)): it can be used with COPY --from, not FROM")
        case nil:
            image = try resolveStoredImage(name, platform: platform, stepID: stepID)
        }
        // A single-platform image of another platform is used as it is, with a warning (BuildKit's
        // InvalidBaseImagePlatform); an index without the platform fails in the selection instead.
        if !image.config.platform.matches(platform) {
            let actual = BuildPlatform(os: image.config.os, architecture: image.config.architecture,
                                       variant: image.config.variant).normalized
            progress.events(.warning("InvalidBaseImagePlatform: base image \(name) was pulled with platform "
                                     + "\"\(actual)\", expected \"\(wanted.platform)\" for the current build"))
        }
        resolved.withLock { $0[wanted] = image }
        return image
    }

    /// A name from the local store first; the registry when the name is not stored (then it is pulled and
    /// tagged), or, with `--pull`, when the registry's digest for the tag differs from the stored one.
    /// A pinned digest that is stored is used without asking the registry.
    private func resolveStoredImage(_ name: String, platform: Platform, stepID: Int?) throws -> Image {
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch {
            throw BuildError("invalid image reference \"\(name)\": \(error)", cause: error)
        }
        let stored = try builder.images.resolve(reference)
        guard let options = request.registry else {
            guard let stored else {
                throw BuildError("failed to resolve source metadata for \(reference): not found in the local image "
                                 + "store (load it with `swiftbuild load -i ARCHIVE`)")
            }
            return try builder.images.image(stored, platform: platform)
        }
        if let stored, !request.pull || reference.digest != nil {
            return try builder.images.image(stored, platform: platform)
        }
        let events = progress.events
        let puller = ImagePuller(images: builder.images, options: options) { line in
            if let stepID { events(.stepOutput(id: stepID, bytes: Array((line + "\n").utf8))) }
        }
        do {
            if let stored, try puller.currentDescriptor(of: reference).digest == stored.digest {
                return try builder.images.image(stored, platform: platform)
            }
            let pulled = try puller.pull(reference, platform: platform)
            return try builder.images.image(pulled, platform: platform)
        } catch {
            throw BuildError("failed to resolve source metadata for \(reference): \(error)", cause: error)
        }
    }
}
