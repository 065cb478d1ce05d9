import Foundation
import Synchronization
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

    static let keyBody = "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naGw4Qd2ZEW8Ps"

    static let cases: [(String, [SecretGuard.Kind])] = [
        ("token=npm_0123456789abcdef", [.secretValue(id: "npm")]),
        ("export GITHUB_TOKEN=ghp_tokenvalue42", [.buildArgument(name: "GITHUB_TOKEN")]),
        ("version 1.2.3-release, abc, k", []),  // not secret-looking, or too short
        (String(repeating: "x", count: 300) + "\n-----BEGIN RSA PRIVATE KEY-----\n" + Self.keyBody, [.privateKey]),
        ("-----BEGIN ENCRYPTED PRIVATE KEY-----\r\n" + Self.keyBody + "\r\n-----END ENCRYPTED PRIVATE KEY-----", [.privateKey]),
        ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F\n\n" + Self.keyBody, [.privateKey]),
        ("ssh-ed25519 AAAAC3 PUBLIC KEY----- only", []),
        // A key in a JSON string (a cloud service account file).
        ("{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n" + Self.keyBody.replacingOccurrences(of: "\n", with: "\\n") + "\"}", [.privateKey]),
        // A TLS library's string table: the header, a NUL, the base64 alphabet of its encoder.
        ("-----BEGIN RSA PRIVATE KEY-----\u{0}ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", []),
        ("-----BEGIN RSA PRIVATE KEY-----\nABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz0123456789+/", []),
        // A PEM parser's constants (Python's cryptography): a header, no key.
        ("_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"\n_SK_END = b\"-----END OPENSSH PRIVATE KEY-----\"\n", []),
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

    /// Shapes of credentials are not looked for where packages keep test keys (system library and share
    /// directories, site-packages, node_modules) or in ELF binaries; secret values are looked for everywhere.
    @Test func shapesAreNotLookedForInPackageFilesValuesAre() {
        let pem = Array(("-----BEGIN RSA PRIVATE KEY-----\n" + Self.keyBody).utf8)
        func kinds(_ path: String, _ bytes: [UInt8]) -> [SecretGuard.Kind] {
            let scanner = SecretScanner(Self.guardrail)
            var st = stat()
            st.st_mode = S_IFREG | 0o644
            let tap = scanner.willRead(source: "/x", path: path, stat: st)
            bytes.withUnsafeBytes { tap?.update($0) }
            tap?.finish()
            return scanner.findings.map(\.kind)
        }
        #expect(kinds("usr/lib/x86_64-linux-gnu/libgnutls.so.30", pem).isEmpty)
        #expect(kinds("venv/lib/python3.11/site-packages/tornado/test/test.key", pem).isEmpty)
        #expect(kinds("app/node_modules/x/key.pem", pem).isEmpty)
        #expect(kinds("opt/app/bin/server", [0x7f] + Array("ELF".utf8) + pem).isEmpty)
        #expect(kinds("root/.ssh/id_rsa", pem) == [.privateKey])
        #expect(kinds("opt/app/key.pem", pem) == [.privateKey])
        // A secret's value is found in a package directory and in a binary too.
        let value = Array("npm_0123456789abcdef".utf8)
        #expect(kinds("usr/lib/node_modules/npm/.npmrc", value) == [.secretValue(id: "npm")])
        #expect(kinds("opt/app/bin/server", [0x7f] + Array("ELF".utf8) + value) == [.secretValue(id: "npm")])
    }

    /// The per-file path rules compare bytes: whole components and directory prefixes, `.json` in any case.
    @Test func pathRulesMatchWholeComponentsAndPrefixes() {
        typealias Tap = SecretScanner.Tap
        for owned in ["usr/lib/x.so", "lib/x", "etc/ssl/private/k.pem", "var/lib/dpkg/info/a.list",
                      "app/node_modules/x/key.pem", "node_modules/k", "v/lib/python3/site-packages/t/k",
                      "a/dist-packages", "a//node_modules/b"] {
            #expect(Tap.ownedByPackages(owned), "\(owned)")
        }
        for mine in ["usr/libx/k", "usr/lib", "library/k", "app/node_modules_old/k", "app/xnode_modules/k",
                     "site-packages.txt", "etc/sslx/k", "", "opt/app/key.pem"] {
            #expect(!Tap.ownedByPackages(mine), "\(mine)")
        }
        for json in ["config.json", "a/b/auth.JSON", ".Json", "x.jSoN"] { #expect(Tap.isJSON(json), "\(json)") }
        for other in ["json", "configjson", "a.jso", "a.json.bak", "a\u{0e}json", "a.js0n", ""] {
            #expect(!Tap.isJSON(other), "\(other)")
        }
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
        // Build arguments whose values are looked for in layers.
        for name in ["GITHUB_TOKEN", "NPMTOKEN", "API_KEY", "DB_PASSWORD", "aws_secret_access_key", "auth"] {
            #expect(SecretGuard.looksSecret(argument: name), "\(name)")
        }
        for name in ["KEYBOARD_LAYOUT", "MONKEY", "KEYCLOAK_URL", "PUBLIC_KEY", "PASSWORD_FILE", "VERSION"] {
            #expect(!SecretGuard.looksSecret(argument: name), "\(name)")
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
        // The record that build left was never checked: a checking build does not take it from the cache.
        await #expect(throws: BuildError.self) { try await h.build("FROM localhost/busybox\nCOPY app /app\n") }
        #expect(h.cachedSteps.isEmpty)
        var planned: [Int: String] = [:]
        for case .stepPlanned(let s) in h.events { planned[s.id] = s.text }
        let reasons = h.events.compactMap { event -> String? in
            if case .stepCacheMiss(let id, let e) = event, planned[id] == "COPY app /app" { return e.reason }
            return nil
        }
        #expect(reasons == ["its cached result was made with --allow-secrets-in-layers and was never checked for secrets"])
    }

    /// BuildKit's `SecretsUsedInArgOrEnv` check: a warning, silenced by `# check=skip=…`, an error with
    /// `# check=error=true`.
    @Test func sensitiveNamesWarnAndFailWithErrorTrue() async throws {
        let h = try BuildHarness()
        func warnings() -> [String] { h.events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } } }
        _ = try await h.build("FROM localhost/busybox\nARG API_TOKEN\nENV DB_PASSWORD=x PUBLIC_KEY=y\n")
        #expect(warnings() == [
            "SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"API_TOKEN\") (Dockerfile:2)",
            "SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"DB_PASSWORD\") (Dockerfile:3)",
        ])
        _ = try await h.build("# check=skip=SecretsUsedInArgOrEnv\nFROM localhost/busybox\nARG API_TOKEN\n")
        #expect(warnings().isEmpty)
        await #expect(throws: BuildError.self) {
            try await h.build("# check=error=true\nFROM localhost/busybox\nARG API_TOKEN\n")
        }
    }

    /// `--debug-cache` and JSON `cache_key` events never show the value of a secret-looking variable.
    @Test func cacheKeyOutputHidesSecretLookingValues() {
        let key = CacheKey([.init(name: "args", value: "VERSION=4\nNPM_TOKEN=fourthsecret999")])
        for mode in [ProgressRenderer.Mode.plain, .json] {
            let lines = Mutex<[String]>([])
            let renderer = ProgressRenderer(mode: mode, showCacheKeys: true) { text in lines.withLock { $0.append(text) } }
            renderer.handle(.stepCacheKey(id: 7, key: key))
            let text = lines.withLock { $0 }.joined()
            #expect(!text.contains("fourthsecret999"), "\(mode)")
            #expect(text.contains("VERSION=4") && text.contains("NPM_TOKEN=(hidden)"), "\(mode): \(text)")
            if mode == .plain {
                #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("#7 ") }, "every line keeps its prefix")
            }
        }
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
