import Foundation
import Testing
import TestSupport
@testable import SwiftBuildOCI

@Suite struct DigestTests {
    @Test func sha256OfKnownInputs() {
        // FIPS 180-2 test vectors.
        #expect(SHA256Hasher.digest(Array("abc".utf8)).description
                == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Hasher.digest([UInt8]()).description
                == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func streamingEqualsOneShot() {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let h = SHA256Hasher()
        for chunk in stride(from: 0, to: data.count, by: 7919) {
            h.update(Array(data[chunk..<min(chunk + 7919, data.count)]))
        }
        #expect(h.finalize() == SHA256Hasher.digest(data))
    }

    @Test(arguments: [
        ("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", true),
        ("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", false),
        ("sha256:abc", false),
        ("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", false),
        ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", false),
    ])
    func parsing(text: String, valid: Bool) {
        let parsed = try? Digest(parsing: text)
        #expect((parsed != nil) == valid)
        if let parsed { #expect(parsed.description == text) }
    }
}

@Test func storeRootParentsAreCreated() throws {
    let base = "/tmp/sb-root-parents-\(getpid())"
    defer { _ = try? FileManager.default.removeItem(atPath: base) }
    let store = try ContentStore(root: base + "/a/b/c")
    #expect(FileManager.default.fileExists(atPath: store.blobsDirectory))
}

@Test func insecureRegistriesFromTheConfigFile() throws {
    let dir = "/tmp/sb-regconf-\(getpid())"
    defer { _ = try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/swiftbuild", withIntermediateDirectories: true)
    // No file: nothing configured.
    #expect(try RegistryConfigFile.insecureRegistries(environment: ["XDG_CONFIG_HOME": dir + "/none"]).isEmpty)
    try Data(#"{"insecure-registries": ["registry.internal:5000", "10.0.0.5"]}"#.utf8)
        .write(to: URL(fileURLWithPath: dir + "/swiftbuild/registries.json"))
    #expect(try RegistryConfigFile.insecureRegistries(environment: ["XDG_CONFIG_HOME": dir])
            == ["registry.internal:5000", "10.0.0.5"])
    // The explicit variable wins; a malformed file is an error that names it.
    try Data(#"{"insecure-registries": "oops"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
    #expect(throws: RegistryConfigFile.Failure.self) {
        try RegistryConfigFile.insecureRegistries(environment: ["SWIFTBUILD_REGISTRIES_CONFIG": dir + "/bad.json",
                                                                "XDG_CONFIG_HOME": dir])
    }
}
