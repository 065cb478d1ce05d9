import Foundation
import Synchronization
import Testing
import TestSupport
import SwiftBuildArchive
import SwiftBuildOCI
@testable import SwiftBuildKit

/// Pull and push against a real registry (docker-registry on 127.0.0.1), checked with skopeo.
@Suite(.serialized) struct RegistryTests {
    /// A root with the busybox fixture, copied by skopeo into the registry as `base/busybox:1`.
    static func seed(_ registry: TestRegistry, scratch: TemporaryDirectory) throws -> (Image, String) {
        let root = scratch.path + "/seed"
        let reference = try TestImages.busybox(root: root)
        let content = try ContentStore(root: root)
        let store = try ImageStore(root: root, content: content)
        guard let descriptor = try store.resolve(reference) else { throw TestFailure("fixture not tagged") }
        let layout = scratch.path + "/layout"
        try OCIArchiveExporter.write(images: [(descriptor, [reference])], content: content, to: layout, tar: false)
        let name = registry.host + "/base/busybox:1"
        try runTool("/usr/bin/skopeo", ["copy", "--dest-tls-verify=false", "--preserve-digests",
                                              "oci:" + layout + ":latest", "docker://" + name])
        return (try store.image(descriptor), name)
    }

    static func skopeoDigest(_ name: String, credentials: String? = nil) throws -> String {
        try runTool("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]
                         + (credentials.map { ["--creds", $0] } ?? []) + ["docker://" + name])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func buildFromRegistryPushAndPullBack() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let (base, baseName) = try Self.seed(registry, scratch: scratch)

        // A fresh root: FROM pulls the base from the registry and tags it.
        let root = scratch.path + "/build"
        let context = scratch.path + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try Data("FROM \(baseName)\nRUN echo built > /built\n".utf8)
            .write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        let builder = try Builder(root: root)
        let output = Lines()
        let result = try await builder.build(BuildRequest(contextDirectory: context, tags: [registry.host + "/app:v1"])) {
            if case .stepOutput(_, let bytes) = $0 { output.append(String(decoding: bytes, as: UTF8.self)) }
        }
        // The FROM step shows what it downloads.
        #expect(output.all.contains("pulling \(try #require(base.layers.first).digest) (\(try #require(base.layers.first).size) bytes)\n"))
        let pulledBase = try #require(try builder.images.resolve(try ImageReference(parsing: baseName)))
        #expect(pulledBase.digest == base.manifestDescriptor.digest)

        // Push by tag; skopeo sees the same manifest digest. The base layer is mounted from base/busybox (the
        // store knows that repository has it), the new layer and config uploaded.
        let lines = Lines()
        let pusher = ImagePusher(images: builder.images, options: RegistryOptions()) { lines.append($0) }
        let app = try ImageReference(parsing: registry.host + "/app:v1")
        let pushed = try pusher.push(app, to: app)
        #expect(pushed.digest == result.manifest.digest)
        let baseLayer = try #require(base.layers.first)
        #expect(lines.all.contains("mounted \(baseLayer.digest) from base/busybox"))
        #expect(lines.all.filter { $0.hasPrefix("pushed ") }.count == 2)
        #expect(try Self.skopeoDigest(app.description) == result.manifest.digest.description)
        // Pushing again uploads nothing (every blob HEADs as present) and keeps the digest.
        #expect(try pusher.push(app, to: app).digest == result.manifest.digest)

        // Pull into another fresh root: the same digests, every blob stored.
        let fresh = scratch.path + "/fresh"
        let content = try ContentStore(root: fresh)
        let images = try ImageStore(root: fresh, content: content)
        let descriptor = try ImagePuller(images: images, options: RegistryOptions()).pull(app)
        #expect(descriptor.digest == result.manifest.digest)
        let image = try #require(try images.image(app))
        #expect(image.id == result.config.digest)
        #expect(image.layers.allSatisfy { content.has($0.digest) })
        #expect(image.layers.count == base.layers.count + 1)

        // The registry's base tag moves to the app image. Without --pull the stored base is used;
        // with --pull the registry's digest is asked for, and the new one pulled and tagged.
        let baseReference = try ImageReference(parsing: baseName)
        try pusher.push(app, to: baseReference)
        try Data("FROM \(baseName)\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        let stale = try await builder.build(BuildRequest(contextDirectory: context)) { _ in }
        #expect(stale.config.digest == base.id)
        var request = BuildRequest(contextDirectory: context)
        request.pull = true
        let refreshed = try await builder.build(request) { _ in }
        #expect(refreshed.config.digest == result.config.digest)
        #expect(try builder.images.resolve(baseReference)?.digest == result.manifest.digest)
    }

    /// A fresh CI runner: the base is only in the registry. Words are expanded with the base's ENV (pulled
    /// before planning), so the image is right and has the same digest as a build where the base was local.
    @Test func aBaseOnlyInTheRegistryExpandsWordsLikeALocalOne() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let (_, busybox) = try Self.seed(registry, scratch: scratch)

        // The base: busybox with ENV APPDIR and a PATH of its own, pushed to the registry.
        let baseContext = scratch.path + "/base-context"
        try FileManager.default.createDirectory(atPath: baseContext, withIntermediateDirectories: true)
        try Data("FROM \(busybox)\nENV APPDIR=/opt/app\nENV PATH=/venv/bin:$PATH\n".utf8)
            .write(to: URL(fileURLWithPath: baseContext + "/Dockerfile"))
        let baseName = registry.host + "/base/env:1"
        let seedBuilder = try Builder(root: scratch.path + "/seed-env")
        _ = try await seedBuilder.build(BuildRequest(contextDirectory: baseContext, tags: [baseName])) { _ in }
        let baseReference = try ImageReference(parsing: baseName)
        _ = try ImagePusher(images: seedBuilder.images, options: RegistryOptions()) { _ in }.push(baseReference, to: baseReference)

        let context = scratch.path + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: context + "/hello.txt"))
        try Data("""
            FROM \(baseName)
            WORKDIR $APPDIR
            ENV WHERE=$APPDIR/bin
            ENV PATH=/extra/bin:$PATH
            COPY hello.txt $APPDIR/
            RUN test -f /opt/app/hello.txt && test "$(pwd)" = /opt/app

            """.utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        func build(_ root: String, noCache: Bool = false) async throws -> (BuildResult, [BuildEvent.Step]) {
            var request = BuildRequest(contextDirectory: context)
            request.sourceDateEpoch = 1_700_000_000
            request.noCache = noCache
            let steps = Collected<BuildEvent.Step>()
            let result = try await Builder(root: root).build(request) { event in
                if case .stepPlanned(let step) = event { steps.append(step) }
            }
            return (result, steps.all)
        }

        // An empty root: the base is pulled while resolving ("load metadata"), before any word is expanded.
        let cold = scratch.path + "/cold"
        let (fresh, steps) = try await build(cold)
        #expect(steps.first?.text == "load metadata for \(baseName)")
        #expect(steps.first?.label == "internal")
        let config = fresh.imageConfig.config
        #expect(config.workingDir == "/opt/app")
        #expect(config.env?.contains("WHERE=/opt/app/bin") == true)
        #expect(config.env?.contains("PATH=/extra/bin:/venv/bin:\(TestImages.path)") == true)
        let bundle = scratch.path + "/bundle"
        try runTool("/usr/bin/umoci", ["unpack", "--image",
                                             try Self.layout(root: cold, manifest: fresh.manifest, in: scratch) + ":latest",
                                             bundle])
        #expect(FileManager.default.fileExists(atPath: bundle + "/rootfs/opt/app/hello.txt"))
        #expect(!FileManager.default.fileExists(atPath: bundle + "/rootfs/hello.txt"))

        // The same root again (the base now local), and another root that pulled the base first: one digest.
        #expect(try await build(cold, noCache: true).0.manifest.digest == fresh.manifest.digest)
        let warm = scratch.path + "/warm"
        let warmImages = try ImageStore(root: warm, content: try ContentStore(root: warm))
        _ = try ImagePuller(images: warmImages, options: RegistryOptions()).pull(baseReference)
        let (local, localSteps) = try await build(warm)
        #expect(local.manifest.digest == fresh.manifest.digest)
        #expect(localSteps.first?.text == "load metadata for \(baseName)")
    }

    /// An OCI layout of one image of `root`'s store, for umoci.
    static func layout(root: String, manifest: Descriptor, in scratch: TemporaryDirectory) throws -> String {
        let content = try ContentStore(root: root)
        let layout = scratch.path + "/layout-\(manifest.digest.encoded.prefix(12))"
        try OCIArchiveExporter.write(images: [(manifest, [try ImageReference(parsing: "localhost/out:latest")])],
                                     content: content, to: layout, tar: false)
        return layout
    }

    /// `swiftbuild build --push`, `push` and `pull` through the executable, credentials from $DOCKER_CONFIG.
    @Test func commandLine() throws {
        let registry = try TestRegistry(user: "cli", password: "pw")
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let root = scratch.path + "/root"
        try TestImages.busybox(root: root)
        let dockerConfig = try registry.dockerConfig(in: scratch.path, user: "cli", password: "pw")
        let context = scratch.path + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try Data("FROM localhost/busybox\nRUN echo cli > /cli\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        @discardableResult func sb(_ arguments: [String]) throws -> String {
            try swiftbuildCLI(dockerConfig: dockerConfig, arguments)
        }
        let app = registry.host + "/cli/app:1"
        let id = try sb(["build", "-q", "--root", root, "--push", "-t", app, context])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let digest = try Self.skopeoDigest(app, credentials: "cli:pw")
        // buildx's spelling: -o type=registry,name=… (push implied); the cached rebuild gives the same image.
        let output = registry.host + "/cli/out:3"
        try sb(["build", "-q", "--root", root, "-o", "type=registry,name=" + output, context])
        #expect(try Self.skopeoDigest(output, credentials: "cli:pw") == digest)
        let copy = registry.host + "/cli/copy:2"
        #expect(try sb(["push", "--root", root, app, copy]) == "\(copy) \(digest)\n")
        #expect(try Self.skopeoDigest(copy, credentials: "cli:pw") == digest)
        let fresh = scratch.path + "/fresh"
        #expect(try sb(["pull", "--root", fresh, copy]) == "\(copy) \(digest)\n")
        let images = try ImageStore(root: fresh, content: try ContentStore(root: fresh))
        #expect(try images.image(try ImageReference(parsing: copy))?.id.description == id)
    }

    /// `swiftbuild login` checks the password with the registry and writes docker's config file (other keys
    /// kept); pushes then use it; `logout` removes the entry.
    @Test func loginAndLogout() throws {
        let registry = try TestRegistry(user: "joe", password: "right")
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("swiftbuild").path
        let dockerConfig = scratch.path + "/docker"
        try FileManager.default.createDirectory(atPath: dockerConfig, withIntermediateDirectories: true)
        try Data(#"{"auths":{"other.test":{"auth":"eDp5"}},"detachKeys":"ctrl-x"}"#.utf8)
            .write(to: URL(fileURLWithPath: dockerConfig + "/config.json"))
        @discardableResult func sb(_ arguments: [String], input: String = "") throws -> String {
            try runTool("/bin/sh", ["-c", #"c="$1"; shift; printf '%s\n' "$0" | env DOCKER_CONFIG="$c" "$@""#,
                                         input, dockerConfig, tool] + arguments)
        }
        #expect(throws: (any Error).self) { try sb(["login", "-u", "joe", "--password-stdin", registry.host], input: "wrong") }
        #expect(try sb(["login", "-u", "joe", "--password-stdin", registry.host], input: "right") == "Login Succeeded\n")
        let data = try Data(contentsOf: URL(fileURLWithPath: dockerConfig + "/config.json"))
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(document["detachKeys"] as? String == "ctrl-x")
        let credentials = try RegistryCredentials.parse([UInt8](data), path: "config.json")
        #expect(try credentials.credential(for: registry.host) == RegistryCredential(username: "joe", password: "right"))
        #expect(try credentials.credential(for: "other.test") == RegistryCredential(username: "x", password: "y"))

        let root = scratch.path + "/root"
        try TestImages.busybox(root: root)
        try sb(["push", "--root", root, "localhost/busybox:latest", registry.host + "/joe/bb:1"])
        #expect(try sb(["logout", registry.host]) == "Removing login credentials for \(registry.host)\n")
        #expect(throws: (any Error).self) { try sb(["push", "--root", root, "localhost/busybox:latest", registry.host + "/joe/bb:2"]) }
        #expect(try sb(["logout", registry.host]) == "Not logged in to \(registry.host)\n")
    }

    @Test func chunkedUploadAndDigestReference() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let root = scratch.path + "/root"
        let local = try TestImages.busybox(root: root)
        let content = try ContentStore(root: root)
        let images = try ImageStore(root: root, content: content)
        // 64 KiB chunks: the busybox layer (about 1 MiB) goes up in many PATCH requests.
        let options = RegistryOptions(chunkSize: 64 << 10)
        let destination = try ImageReference(parsing: registry.host + "/chunked/busybox:c")
        let pushed = try ImagePusher(images: images, options: options).push(local, to: destination)
        #expect(try Self.skopeoDigest(destination.description) == pushed.digest.description)
        // Pull by digest into a fresh root.
        let fresh = scratch.path + "/fresh"
        let freshImages = try ImageStore(root: fresh, content: try ContentStore(root: fresh))
        let byDigest = try ImageReference(parsing: registry.host + "/chunked/busybox@" + pushed.digest.description)
        try ImagePuller(images: freshImages, options: RegistryOptions()).pull(byDigest)
        #expect(try freshImages.image(byDigest)?.manifestDescriptor.digest == pushed.digest)
        let client = RegistryClient(domain: registry.host)
        #expect(try client.resolve(repository: "chunked/busybox", reference: "c").digest == pushed.digest)
    }

    @Test func missingAndCorruptGiveClearErrorsAndStoreNothing() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let (base, baseName) = try Self.seed(registry, scratch: scratch)
        let fresh = scratch.path + "/fresh"
        let content = try ContentStore(root: fresh)
        let images = try ImageStore(root: fresh, content: content)
        let puller = ImagePuller(images: images, options: RegistryOptions(attempts: 1))

        let missing = try ImageReference(parsing: registry.host + "/base/busybox:nope")
        let notFound = "\(String(describing: #expect(throws: RegistryError.self) { try puller.pull(missing) }))"
        #expect(notFound.contains("manifest \(registry.host)/base/busybox:nope: not found"))
        #expect(try content.list().isEmpty)

        // Corrupt the layer in the registry's storage (same size, one byte changed).
        let layer = try #require(base.layers.first)
        let path = registry.blobPath(layer.digest)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let corrupt = try ImageReference(parsing: baseName)
        let error = "\(String(describing: #expect(throws: RegistryError.self) { try puller.pull(corrupt) }))"
        #expect(error.contains("blob \(layer.digest)"))
        #expect(error.contains("digest mismatch"))
        #expect(error.contains("nothing was stored"))
        #expect(!content.has(layer.digest))
        #expect(try images.resolve(corrupt) == nil)
        #expect(try images.list().isEmpty)
        // The build says the same.
        let context = scratch.path + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try Data("FROM \(baseName)\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
        var request = BuildRequest(contextDirectory: context)
        request.registry = RegistryOptions(attempts: 1)
        await #expect(throws: BuildError.self) {
            _ = try await Builder(root: fresh).build(request) { _ in }
        }
    }

    @Test func basicAuthFromCredentials() async throws {
        let registry = try TestRegistry(user: "ci", password: "s3cret")
        defer { registry.stop() }
        let scratch = try TemporaryDirectory()
        let root = scratch.path + "/root"
        let local = try TestImages.busybox(root: root)
        let images = try ImageStore(root: root, content: try ContentStore(root: root))
        let destination = try ImageReference(parsing: registry.host + "/private/busybox:1")

        let anonymous = "\(String(describing: #expect(throws: RegistryError.self) { try ImagePusher(images: images, options: RegistryOptions(attempts: 1)).push(local, to: destination) }))"
        #expect(anonymous.contains("access denied (HTTP 401)"))

        // Credentials as docker's config.json gives them.
        let config = #"{"auths":{"\#(registry.host)":{"auth":"\#(Data("ci:s3cret".utf8).base64EncodedString())"}}}"#
        let credentials = try RegistryCredentials.parse(Array(config.utf8), path: "config.json")
        let options = RegistryOptions(credentials: credentials)
        let pushed = try ImagePusher(images: images, options: options).push(local, to: destination)
        let fresh = scratch.path + "/fresh"
        let freshImages = try ImageStore(root: fresh, content: try ContentStore(root: fresh))
        #expect(try ImagePuller(images: freshImages, options: options).pull(destination).digest == pushed.digest)
    }

    @Test(arguments: [
        (#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull""#,
         "bearer", ["realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                    "scope": "repository:library/x:pull"]),
        (#"Basic realm="Registry Realm""#, "basic", ["realm": "Registry Realm"]),
        (#"Bearer realm=https://x/t, service=reg"#, "bearer", ["realm": "https://x/t", "service": "reg"]),
    ])
    func challenges(header: String, scheme: String, parameters: [String: String]) {
        #expect(AuthChallenge(parsing: header) == AuthChallenge(scheme: scheme, parameters: parameters))
    }

    @Test func dockerConfigCredentials() throws {
        let auth = Data("me:pw:with:colons".utf8).base64EncodedString()
        let json = #"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(auth)"},"ghcr.io":{"username":"u","password":"p"}}}"#
        let credentials = try RegistryCredentials.parse(Array(json.utf8), path: "config.json")
        #expect(try credentials.credential(for: "docker.io") == RegistryCredential(username: "me", password: "pw:with:colons"))
        #expect(try credentials.credential(for: "ghcr.io") == RegistryCredential(username: "u", password: "p"))
        #expect(try credentials.credential(for: "quay.io") == nil)
        #expect(throws: RegistryError.self) {
            _ = try RegistryCredentials.parse(Array(#"{"auths":{"x":{"auth":"!!"}}}"#.utf8), path: "c.json")
        }
    }

    @Test func credentialHelpers() throws {
        let dir = try TemporaryDirectory()
        let helper = dir.path + "/docker-credential-fake"
        try Data("""
            #!/bin/sh
            read server
            case "$server" in
              https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"hub","Secret":"hubpw"}' ;;
              reg.test) echo '{"ServerURL":"reg.test","Username":"helped","Secret":"pw"}' ;;
              *) echo "credentials not found in native keychain"; exit 1 ;;
            esac
            """.utf8).write(to: URL(fileURLWithPath: helper))
        #expect(chmod(helper, 0o755) == 0)
        let json = #"{"auths":{"other.test":{"auth":"\#(Data("a:b".utf8).base64EncodedString())"}},"credsStore":"fake","credHelpers":{"reg.test":"fake","broken.test":"missing"}}"#
        var credentials = try RegistryCredentials.parse(Array(json.utf8), path: "config.json")
        credentials.searchPath = dir.path + ":/usr/bin:/bin"
        #expect(try credentials.credential(for: "reg.test") == RegistryCredential(username: "helped", password: "pw"))
        #expect(try credentials.credential(for: "docker.io") == RegistryCredential(username: "hub", password: "hubpw"))
        #expect(try credentials.credential(for: "other.test") == RegistryCredential(username: "a", password: "b"))
        #expect(try credentials.credential(for: "unknown.test") == nil)
        let error = #expect(throws: RegistryError.self) { try credentials.credential(for: "broken.test") }
        #expect("\(String(describing: error))".contains("docker-credential-missing is not installed"))
    }

    @Test func registryOutputs() throws {
        #expect(try RegistryOutput.parse("type=registry,name=r/a:1") == RegistryOutput(name: "r/a:1", push: true))
        #expect(try RegistryOutput.parse("type=image,name=r/a:1") == RegistryOutput(name: "r/a:1", push: false))
        #expect(try RegistryOutput.parse("type=image,name=r/a:1,push=true") == RegistryOutput(name: "r/a:1", push: true))
        #expect(try RegistryOutput.parse("type=oci,dest=x.tar") == nil)
        #expect(try RegistryOutput.parse("out-dir") == nil)
        #expect(throws: BuildRequestError.self) { try RegistryOutput.parse("type=image") }
        #expect(throws: BuildRequestError.self) { try RegistryOutput.parse("type=image,name=a,push=maybe") }
        #expect(throws: BuildRequestError.self) { try RegistryOutput.parse("type=registry,name=a,dest=x") }
    }

    @Test func schemes() {
        #expect(RegistryClient(domain: "127.0.0.1:5000").baseURL == "http://127.0.0.1:5000")
        #expect(RegistryClient(domain: "localhost").baseURL == "http://localhost")
        #expect(RegistryClient(domain: "docker.io").baseURL == "https://registry-1.docker.io")
        #expect(RegistryClient(domain: "ghcr.io").baseURL == "https://ghcr.io")
        #expect(RegistryClient(domain: "reg.lan:5000", options: RegistryOptions(insecureRegistries: ["reg.lan:5000"]))
                    .baseURL == "http://reg.lan:5000")
    }
}

/// Values collected from other threads (progress lines, events).
final class Collected<Element: Sendable>: Sendable {
    private let values = Mutex<[Element]>([])
    func append(_ value: Element) { values.withLock { $0.append(value) } }
    var all: [Element] { values.withLock { $0 } }
}

typealias Lines = Collected<String>
