import SwiftBuildOCI
import Testing
import TestSupport

struct ImageConfigJSONTests {
    private func text(_ value: some Encodable) throws -> String {
        String(decoding: try CanonicalJSON.encode(value), as: UTF8.self)
    }

    @Test func emptyFieldsAreOmittedLikeGo() throws {
        let config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"),
                                 config: ContainerConfig(env: [], cmd: ["sh"], workingDir: "", argsEscaped: false))
        #expect(try text(config)
                == #"{"architecture":"amd64","config":{"Cmd":["sh"]},"os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#)
    }

    @Test func fullConfigUsesDockerNamesAndSortedKeys() throws {
        let diff = Digest(sha256: [UInt8](repeating: 1, count: 32))
        let config = ImageConfig(
            created: "2024-01-02T03:04:05Z", author: "me",
            platform: Platform(os: "linux", architecture: "arm64", variant: "v8"),
            config: ContainerConfig(
                user: "app", exposedPorts: ["80/tcp", "53/udp"], env: ["A=1"], entrypoint: ["/bin/sh", "-c"],
                cmd: ["echo hi"], volumes: ["/data"], workingDir: "/w", labels: ["b": "2", "a": "1"],
                stopSignal: "SIGTERM",
                healthcheck: .init(test: ["CMD", "true"], interval: 30_000_000_000, retries: 3),
                onBuild: ["RUN x"], shell: ["/bin/sh", "-c"], argsEscaped: true),
            rootfs: .init(diffIDs: [diff]),
            history: [.init(created: "2024-01-02T03:04:05Z", createdBy: "RUN x", emptyLayer: true), .init(comment: "c")])
        let json = try text(config)
        #expect(json.hasPrefix(#"{"architecture":"arm64","author":"me","config":{"ArgsEscaped":true,"Cmd":["echo hi"],"#))
        #expect(json.contains(#""ExposedPorts":{"53/udp":{},"80/tcp":{}}"#))
        #expect(json.contains(#""Healthcheck":{"Interval":30000000000,"Retries":3,"Test":["CMD","true"]}"#))
        #expect(json.contains(#""Labels":{"a":"1","b":"2"}"#))
        #expect(json.contains(#""Volumes":{"/data":{}}"#))
        #expect(json.contains(#""Entrypoint":["/bin/sh","-c"]"#))
        #expect(json.contains(#""history":[{"created":"2024-01-02T03:04:05Z","created_by":"RUN x","empty_layer":true},{"comment":"c"}]"#))
        #expect(json.contains(#""rootfs":{"diff_ids":["\#(diff)"],"type":"layers"}"#))
        #expect(json.contains(#""variant":"v8""#))
        let decoded = try CanonicalJSON.decode(ImageConfig.self, from: Array(json.utf8))
        #expect(decoded == config)
        #expect(try text(decoded) == json)
    }

    @Test func decodesDockerConfigWithNullsAndUnknownFields() throws {
        let json = #"""
        {"architecture":"amd64","os":"linux","config":{"Env":null,"Cmd":["sh"],"Image":"sha256:x","Hostname":""},
         "container_config":{"Cmd":["x"]},"rootfs":{"type":"layers","diff_ids":[]},"docker_version":"24"}
        """#
        let config = try CanonicalJSON.decode(ImageConfig.self, from: Array(json.utf8))
        #expect(config.config.cmd == ["sh"])
        #expect(config.config.env == nil)
        #expect(config.platform == Platform(os: "linux", architecture: "amd64"))
    }

    @Test func manifestAndIndexRoundTrip() throws {
        let d = Digest(sha256: [UInt8](repeating: 2, count: 32))
        let manifest = ImageManifest(config: Descriptor(mediaType: .ociConfig, digest: d, size: 10),
                                     layers: [Descriptor(mediaType: .ociLayerGzip, digest: d, size: 20)])
        #expect(try text(manifest) == #"{"config":{"digest":"\#(d)","mediaType":"application/vnd.oci.image.config.v1+json","size":10},"layers":[{"digest":"\#(d)","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":20}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#)
        let index = ImageIndex(manifests: [Descriptor(mediaType: .ociManifest, digest: d, size: 5,
                                                      annotations: [AnnotationKey.refName: "latest"],
                                                      platform: Platform(os: "linux", architecture: "amd64"))])
        let decoded = try CanonicalJSON.decode(ImageIndex.self, from: try CanonicalJSON.encode(index))
        #expect(decoded == index)
        #expect(MediaType(rawValue: "application/x-unknown") == .other("application/x-unknown"))
        #expect(MediaType(rawValue: MediaType.dockerManifestList.rawValue) == .dockerManifestList)
    }

    @Test func platformMatching() {
        let arm64 = Platform(os: "linux", architecture: "arm64")
        #expect(arm64.matches(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(!Platform(os: "linux", architecture: "arm", variant: "v6").matches(Platform(os: "linux", architecture: "arm", variant: "v7")))
        #expect(!Platform(os: "windows", architecture: "amd64").matches(Platform(os: "linux", architecture: "amd64")))
        #expect(Platform(os: "linux", architecture: "amd64").description == "linux/amd64")
    }
}
