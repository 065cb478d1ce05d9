import Foundation
import Testing
import TestSupport
import SwiftBuildArchive
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

/// The secret-leak guard: what it finds in a file read in any slicing, what it does not, and what a build
/// does with a layer that holds a secret (fails the step, names the path and kind, never the value, stores
/// nothing), or with `--allow-secrets-in-layers` (builds).
@Suite struct SecretGuardTests {
    static let guardrail = SecretGuard(secrets: ["npm": Array("npm_0123456789abcdef\n".utf8), "short": Array("abc".utf8)],
                                       buildArguments: ["GITHUB_TOKEN": "ghp_tokenvalue42", "VERSION": "1.2.3-release",
                                                        "API_KEY": "k"])

    /// The kinds found in `content`, fed to one file tap in slices of `slice` bytes.
    static func kinds(_ content: String, slice: Int) -> [SecretGuard.Kind] {
        let scanner = SecretScanner(guardrail)
        var st = stat()
        st.st_mode = S_IFREG | 0o644
        let tap = scanner.willRead(source: "/ctx/f", path: "app/config.json", stat: st)
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = min(slice, bytes.count - offset)
            bytes[offset..<(offset + n)].withUnsafeBytes { tap?.update($0) }
            offset += n
        }
        tap?.finish()
        return scanner.findings.map(\.kind)
    }

    static let cases: [(String, [SecretGuard.Kind])] = [
        ("token=npm_0123456789abcdef", [.secretValue(id: "npm")]),
        ("export GITHUB_TOKEN=ghp_tokenvalue42", [.buildArgument(name: "GITHUB_TOKEN")]),
        ("version 1.2.3-release, abc, k", []),  // not secret-looking, or too short
        (String(repeating: "x", count: 300) + "\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", [.privateKey]),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----", [.privateKey]),
        ("ssh-ed25519 AAAAC3 PUBLIC KEY----- only", []),
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", [.awsAccessKey]),
        ("ASIAY34FZKBOKMUTVV7A", [.awsAccessKey]),
        ("XAKIAIOSFODNN7EXAMPLE and AKIAIOSFODNN7EXAMPL and AKIAIOSFODNN7EXAMPLEX", []),
        ("{\"auths\": {\"ghcr.io\": {\"auth\": \"dXNlcjpwYXNz\"}}}", [.dockerConfig]),
        ("{\"auths\": {}, \"credsStore\": \"desktop\"}", []),
        ("{\"auth\": \"dXNlcjpwYXNz\"}", []),
    ]

    @Test(arguments: 0..<cases.count)
    func findsWhatItShouldInEverySlicing(_ index: Int) {
        let (content, expected) = Self.cases[index]
        for slice in [1, 3, 7, 16, 64, 1 << 20] {
            #expect(Set(Self.kinds(content, slice: slice)) == Set(expected), "\(content.prefix(40)) in slices of \(slice)")
        }
    }

    @Test func registryCredentialsOnlyInJSONFiles() {
        let scanner = SecretScanner(Self.guardrail)
        var st = stat()
        st.st_mode = S_IFREG | 0o644
        let tap = scanner.willRead(source: "/ctx/notes.txt", path: "notes.txt", stat: st)
        Array("{\"auths\": {\"x\": {\"auth\": \"dXNlcjpwYXNz\"}}}".utf8).withUnsafeBytes { tap?.update($0) }
        tap?.finish()
        #expect(scanner.findings.isEmpty)
    }

    @Test func namesBuildKitCallsSensitive() {
        for name in ["SECRET_PASSPHRASE", "SUPER_Secret", "password", "secret", "super_duper_secret_token", "auth",
                     "apikey", "git_key"] {
            #expect(SecretGuard.namesSensitiveData(name), "\(name)")
        }
        for name in ["sunflower", "PUBLIC_KEY", "public_token", "SECRET_PASSPHRASE_FILE", "password_file",
                     "secret_File", "AUTH_MODULE_VERSION", "KEYBOARD"] {
            #expect(!SecretGuard.namesSensitiveData(name), "\(name)")
        }
    }

    @Test func aLayerWithASecretFailsItsStepAndIsNotStored() async throws {
        let h = try BuildHarness()
        try h.write("app/config.ini", "[aws]\nkey = AKIAIOSFODNN7EXAMPLE\n")
        try h.write("app/main.py", "print('hi')\n")
        let blobs = { Set(try FileManager.default.contentsOfDirectory(atPath: h.root + "/blobs/sha256")) }
        let before = try blobs()
        for streams in [true, false] {
            do {
                _ = try await h.build("FROM localhost/busybox\nCOPY app /app\n") { $0.streamsContextCopies = streams }
                Issue.record("the build should fail")
            } catch {
                let message = "\(error)"
                #expect(message.contains("Dockerfile:2:1: COPY app /app"), "\(message)")
                #expect(message.contains("/app/config.ini holds an AWS access key id"), "\(message)")
                #expect(!message.contains("AKIAIOSFODNN7EXAMPLE"), "the value is never printed")
            }
        }
        #expect(try blobs().subtracting(before).isEmpty, "no layer was stored")
        let allowed = try await h.build("FROM localhost/busybox\nCOPY app /app\n") { $0.allowSecretsInLayers = true }
        #expect(allowed.imageConfig.rootfs.diffIDs.count == 2)
    }

    @Test(.enabled(if: getuid() == 0, "RUN needs root"))
    func aSecretARunStepWritesDownFailsTheStep() async throws {
        let h = try BuildHarness()
        let secretFile = h.directory.path + "/token"
        try Data("s3cr3t-token-value\n".utf8).write(to: URL(fileURLWithPath: secretFile))
        let leaky = """
            FROM localhost/busybox
            ARG NPM_TOKEN
            RUN --mount=type=secret,id=npm cp /run/secrets/npm /root/.npmrc
            """
        do {
            _ = try await h.build(leaky) { $0.secrets = ["npm": .file(secretFile)] }
            Issue.record("the build should fail")
        } catch {
            let message = "\(error)"
            #expect(message.contains("Dockerfile:3:1:") && message.contains("/root/.npmrc holds the value of secret \"npm\""),
                    "\(message)")
            #expect(!message.contains("s3cr3t-token-value"))
        }
        // A build argument whose name looks secret, written into a file by RUN.
        do {
            _ = try await h.build("FROM localhost/busybox\nARG NPM_TOKEN\nRUN echo \"$NPM_TOKEN\" > /etc/token\n") {
                $0.buildArguments = ["NPM_TOKEN": "npm_buildarg_value"]
            }
            Issue.record("the build should fail")
        } catch {
            #expect("\(error)".contains("/etc/token holds the value of build argument NPM_TOKEN"), "\(error)")
        }
        // The secret used the way it should be (read, not kept) builds.
        _ = try await h.build("""
            FROM localhost/busybox
            RUN --mount=type=secret,id=npm wc -c < /run/secrets/npm > /len
            """) { $0.secrets = ["npm": .file(secretFile)] }
        #expect(h.events.contains { if case .warning(let w) = $0 { return w.contains("SecretsUsedInArgOrEnv") } else { return false } } == false)
        _ = try await h.build(leaky) { $0.secrets = ["npm": .file(secretFile)]; $0.allowSecretsInLayers = true }
        #expect(h.events.contains { if case .warning(let w) = $0 { return w.contains("(ARG \"NPM_TOKEN\") (Dockerfile:2)") } else { return false } })
    }
}
