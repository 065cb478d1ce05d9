import SwiftBuildOCI
import Testing
import TestSupport

struct ImageReferenceTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("myorg/app:v1", "docker.io/myorg/app:v1", "myorg/app:v1"),
        ("localhost/busybox", "localhost/busybox:latest", "localhost/busybox:latest"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
        ("localhost:5000/a/b/c:t-1.2_3", "localhost:5000/a/b/c:t-1.2_3", "localhost:5000/a/b/c:t-1.2_3"),
        ("ghcr.io/o/r@" + digest, "ghcr.io/o/r@" + digest, "ghcr.io/o/r@" + digest),
        ("ghcr.io/o/r:tag@" + digest, "ghcr.io/o/r:tag@" + digest, "ghcr.io/o/r:tag@" + digest),
        ("busybox@" + digest, "docker.io/library/busybox@" + digest, "busybox@" + digest),
        ("[::1]:5000/img", "[::1]:5000/img:latest", "[::1]:5000/img:latest"),
        ("127.0.0.1:5000/a_b__c-d--e.f", "127.0.0.1:5000/a_b__c-d--e.f:latest", "127.0.0.1:5000/a_b__c-d--e.f:latest"),
        ("Registry.Example.com/app", "Registry.Example.com/app:latest", "Registry.Example.com/app:latest"),
    ])
    func normalises(input: String, full: String, familiar: String) throws {
        let reference = try ImageReference(parsing: input)
        #expect(reference.description == full)
        #expect(reference.familiar == familiar)
        #expect(try ImageReference(parsing: full) == reference)
    }

    @Test(arguments: [
        "", "Busybox", "busybox:", ":tag", "a//b", "a/", "/a", "a..b", "a_-b", "-a", "a-", "busybox:-tag",
        "busybox@sha256:abc", "busybox@md5:" + String(repeating: "a", count: 32), "busybox:" + String(repeating: "t", count: 129),
        "exa mple/app", "example.com:port/app", "localhost/UPPER",
        String(repeating: "a", count: 256),
    ])
    func rejects(input: String) {
        #expect(throws: ImageReferenceError.self) { try ImageReference(parsing: input) }
    }

    @Test func partsAndRetag() throws {
        let reference = try ImageReference(parsing: "localhost:5000/team/app:1")
        #expect(reference.domain == "localhost:5000")
        #expect(reference.path == "team/app")
        #expect(reference.tag == "1")
        #expect(reference.digest == nil)
        #expect(reference.familiarName == "localhost:5000/team/app")
        #expect(try reference.with(tag: "2").description == "localhost:5000/team/app:2")
        #expect(try ImageReference(parsing: "busybox").name == "docker.io/library/busybox")
    }

    @Test func uppercaseErrorSaysLowercase() {
        #expect(throws: ImageReferenceError.uppercase("docker.io/library/Busybox")) {
            try ImageReference(parsing: "Busybox")
        }
    }
}
