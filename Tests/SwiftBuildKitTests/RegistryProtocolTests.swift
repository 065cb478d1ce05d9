import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

/// The registry client's auth, retry and index handling, through a scripted transport.
@Suite struct RegistryProtocolTests {
    static let manifestJSON = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.utf8)

    @Test func bearerTokenFlowWithScopeAndCredentials() throws {
        let manifest = Self.manifestJSON
        let transport = ScriptedTransport { request, _ in
            if request.url.hasPrefix("https://auth.test/token") {
                return .init(status: 200, body: Array(#"{"token":"tok-1"}"#.utf8))
            }
            guard request.header("Authorization") == "Bearer tok-1" else {
                return .init(status: 401, headers: [("WWW-Authenticate",
                    #"Bearer realm="https://auth.test/token",service="reg.test",scope="repository:team/app:pull""#)])
            }
            return .init(status: 200, headers: [("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                         body: manifest)
        }
        let credentials = RegistryCredentials(entries: ["reg.test": RegistryCredential(username: "u", password: "p")])
        let client = RegistryClient(domain: "reg.test", options: RegistryOptions(credentials: credentials, transport: transport))
        let (descriptor, bytes) = try client.manifest(repository: "team/app", reference: "v1")
        #expect(bytes == manifest)
        #expect(descriptor.digest == SHA256Hasher.digest(manifest))
        #expect(descriptor.mediaType == .ociManifest)
        let urls = transport.requests.map(\.url)
        #expect(urls == ["https://reg.test/v2/team/app/manifests/v1",
                         "https://auth.test/token?service=reg.test&scope=repository%3Ateam%2Fapp%3Apull",
                         "https://reg.test/v2/team/app/manifests/v1"])
        #expect(transport.requests[1].header("Authorization") == RegistryCredential(username: "u", password: "p").basicAuthorization)
        // The token is kept: the next request of the same scope sends it at once.
        _ = try client.manifest(repository: "team/app", reference: "v1")
        #expect(transport.requests.count == 4)
        #expect(transport.requests[3].header("Authorization") == "Bearer tok-1")
    }

    @Test func retriesServerErrorsAndRateLimitsThenGivesUp() throws {
        let manifest = Self.manifestJSON
        let flaky = ScriptedTransport { _, n in
            n < 2 ? .init(status: n == 0 ? 503 : 429, headers: [("Retry-After", "0")])
                  : .init(status: 200, body: manifest)
        }
        let client = RegistryClient(domain: "reg.test",
                                    options: RegistryOptions(transport: flaky, initialBackoff: .milliseconds(1)))
        #expect(try client.manifest(repository: "a", reference: "1").bytes == manifest)
        #expect(flaky.requests.count == 3)

        let down = ScriptedTransport { _, _ in .init(status: 502, body: Array("bad gateway".utf8)) }
        let failing = RegistryClient(domain: "reg.test",
                                     options: RegistryOptions(transport: down, attempts: 3, initialBackoff: .milliseconds(1)))
        let error = #expect(throws: RegistryError.self) { try failing.manifest(repository: "a", reference: "1") }
        #expect("\(String(describing: error))".contains("manifest reg.test/a:1: registry answered HTTP 502: bad gateway"))
        #expect(down.requests.count == 3)
    }

    @Test func manifestDigestIsVerified() throws {
        let transport = ScriptedTransport { _, _ in .init(status: 200, body: Self.manifestJSON) }
        let client = RegistryClient(domain: "reg.test", options: RegistryOptions(transport: transport))
        let wrong = SHA256Hasher.digest(Array("other".utf8))
        let error = #expect(throws: RegistryError.self) { try client.manifest(repository: "a", reference: wrong.description) }
        #expect("\(String(describing: error))".contains("content digest mismatch"))
    }

    /// A Docker manifest list with two platforms: the host's manifest is pulled, the other is not touched.
    @Test func manifestListPicksTheHostPlatform() throws {
        let dir = try TemporaryDirectory()
        let config = ImageConfig(platform: .host, config: ContainerConfig(), rootfs: .init(diffIDs: []))
        let configBytes = try CanonicalJSON.encode(config)
        let configDescriptor = Descriptor(mediaType: .dockerConfig, digest: SHA256Hasher.digest(configBytes),
                                          size: Int64(configBytes.count))
        let manifestBytes = try CanonicalJSON.encode(ImageManifest(mediaType: .dockerManifest, config: configDescriptor, layers: []))
        let manifestDigest = SHA256Hasher.digest(manifestBytes)
        let other = Platform(os: "linux", architecture: Platform.host.architecture == "s390x" ? "amd64" : "s390x")
        let otherDigest = SHA256Hasher.digest(Array("not fetched".utf8))
        let list = ImageIndex(mediaType: .dockerManifestList, manifests: [
            Descriptor(mediaType: .dockerManifest, digest: otherDigest, size: 11, platform: other),
            Descriptor(mediaType: .dockerManifest, digest: manifestDigest, size: Int64(manifestBytes.count), platform: .host),
        ])
        let listBytes = try CanonicalJSON.encode(list)
        let transport = ScriptedTransport { request, _ in
            let path = request.url.replacingOccurrences(of: "https://reg.test/v2/lib/multi/", with: "")
            switch path {
            case "manifests/1": return .init(status: 200, body: listBytes)
            case "manifests/" + manifestDigest.description: return .init(status: 200, body: manifestBytes)
            case "blobs/" + configDescriptor.digest.description: return .init(status: 200, body: configBytes)
            default: return .init(status: 404)
            }
        }
        let content = try ContentStore(root: dir.path)
        let images = try ImageStore(root: dir.path, content: content)
        let reference = try ImageReference(parsing: "reg.test/lib/multi:1")
        let top = try ImagePuller(images: images, options: RegistryOptions(transport: transport)).pull(reference)
        #expect(top.mediaType == .dockerManifestList)
        #expect(top.digest == SHA256Hasher.digest(listBytes))
        #expect(try images.image(reference)?.manifestDescriptor.digest == manifestDigest)
        #expect(!transport.requests.contains { $0.url.contains(otherDigest.encoded) })
        // Pushing it needs every platform's manifest: a clear error, nothing sent.
        let sink = ScriptedTransport { _, _ in .init(status: 500) }
        let error = #expect(throws: RegistryError.self) {
            try ImagePusher(images: images, options: RegistryOptions(transport: sink)).push(reference, to: reference)
        }
        #expect("\(String(describing: error))".contains("\(otherDigest) are not in the local store"))
        #expect(sink.requests.isEmpty)
    }
}

/// Downloads broken off midway resume with a range; bad resumptions store nothing.
@Suite struct RegistryResumeTests {
    static let blob = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    @Test(arguments: [true, false])
    func brokenDownloadResumes(registryHonoursRange: Bool) throws {
        let dir = try TemporaryDirectory()
        let content = try ContentStore(root: dir.path)
        let blob = Self.blob
        let transport = ScriptedTransport { request, n in
            if n == 0 { return .init(status: 200, body: blob, cutAfter: 30_000) }
            if registryHonoursRange, request.header("Range") == "bytes=30000-" {
                return .init(status: 206, body: Array(blob[30_000...]))
            }
            return .init(status: 200, body: blob)
        }
        let client = RegistryClient(domain: "reg.test", options: RegistryOptions(transport: transport,
                                                                                   initialBackoff: .milliseconds(1)))
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: SHA256Hasher.digest(blob), size: Int64(blob.count))
        try client.fetchBlob(repository: "a", descriptor, into: content)
        #expect(try content.read(descriptor.digest) == blob)
        #expect(transport.requests.count == 2)
        #expect(transport.requests[1].header("Range") == "bytes=30000-")
    }

    @Test func droppedEveryTimeGivesUpAndStoresNothing() throws {
        let dir = try TemporaryDirectory()
        let content = try ContentStore(root: dir.path)
        let blob = Self.blob
        let transport = ScriptedTransport { _, _ in .init(status: 200, body: blob, cutAfter: 10) }
        let client = RegistryClient(domain: "reg.test", options: RegistryOptions(transport: transport, attempts: 3,
                                                                                   initialBackoff: .milliseconds(1)))
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: SHA256Hasher.digest(blob), size: Int64(blob.count))
        let error = #expect(throws: RegistryError.self) { try client.fetchBlob(repository: "a", descriptor, into: content) }
        #expect("\(String(describing: error))".contains("Connection reset by peer"))
        #expect(transport.requests.count == 3)
        #expect(try content.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/ingest").isEmpty)
    }

    @Test func wrongBytesAreRefused() throws {
        let dir = try TemporaryDirectory()
        let content = try ContentStore(root: dir.path)
        var wrong = Self.blob
        wrong[5] ^= 1
        let served = wrong
        let transport = ScriptedTransport { _, _ in .init(status: 200, body: served) }
        let client = RegistryClient(domain: "reg.test", options: RegistryOptions(transport: transport))
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: SHA256Hasher.digest(Self.blob), size: Int64(Self.blob.count))
        let error = #expect(throws: RegistryError.self) { try client.fetchBlob(repository: "a", descriptor, into: content) }
        #expect("\(String(describing: error))".contains("content digest mismatch"))
        #expect(try content.list().isEmpty)
        // Too many bytes stop the transfer at once.
        let longer = ScriptedTransport { _, _ in .init(status: 200, body: Self.blob + [0]) }
        let client2 = RegistryClient(domain: "reg.test", options: RegistryOptions(transport: longer))
        let error2 = #expect(throws: RegistryError.self) { try client2.fetchBlob(repository: "a", descriptor, into: content) }
        #expect("\(String(describing: error2))".contains("more than the 100000 bytes"))
        #expect(try content.list().isEmpty)
    }
}
