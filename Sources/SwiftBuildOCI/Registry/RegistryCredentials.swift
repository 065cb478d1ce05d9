import Foundation

/// A user name and password (or identity token) for one registry.
public struct RegistryCredential: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `Basic base64(user:password)`.
    public var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// Credentials from docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), in
/// docker's order: a `credHelpers` entry for the registry, else the `auths` entry (`auth` = base64
/// `user:password`, or `username`/`password`), else the `credsStore`. Helpers are the `docker-credential-NAME`
/// programs (`get`, the server on standard input, JSON `{"Username","Secret"}` on standard output), found
/// through the `PATH` of the environment the file was loaded with.
public struct RegistryCredentials: Sendable {
    public var entries: [String: RegistryCredential]
    /// `credHelpers`: registry → helper name.
    public var helpers: [String: String]
    /// `credsStore`: the helper for every other registry.
    public var store: String?
    /// Where helpers are looked for.
    public var searchPath: String

    public init(entries: [String: RegistryCredential] = [:], helpers: [String: String] = [:], store: String? = nil,
                searchPath: String = "/usr/local/bin:/usr/bin:/bin") {
        self.entries = entries
        self.helpers = helpers
        self.store = store
        self.searchPath = searchPath
    }

    /// Reads the docker config file the environment points at; no file means no credentials.
    public static func load(environment: [String: String]) throws(RegistryError) -> RegistryCredentials {
        let path: String
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty {
            path = dir + "/config.json"
        } else if let home = environment["HOME"], !home.isEmpty {
            path = home + "/.docker/config.json"
        } else {
            return RegistryCredentials()
        }
        guard let data = FileManager.default.contents(atPath: path) else { return RegistryCredentials() }
        var credentials = try parse([UInt8](data), path: path)
        if let search = environment["PATH"], !search.isEmpty { credentials.searchPath = search }
        return credentials
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(RegistryError) -> RegistryCredentials {
        struct File: Decodable {
            struct Entry: Decodable { var auth: String?; var username: String?; var password: String? }
            var auths: [String: Entry]?
            var credsStore: String?
            var credHelpers: [String: String]?
        }
        let file: File
        do { file = try CanonicalJSON.decode(File.self, from: bytes) } catch {
            throw .credentials("\(path): malformed JSON: \(error)")
        }
        var entries: [String: RegistryCredential] = [:]
        for (key, entry) in file.auths ?? [:] {
            let host = normalizedHost(key)
            if let auth = entry.auth, !auth.isEmpty {
                guard let data = Data(base64Encoded: auth), let text = String(data: data, encoding: .utf8),
                      let colon = text.firstIndex(of: ":") else {
                    throw .credentials("\(path): the auth of \(key) is not base64 of user:password")
                }
                entries[host] = RegistryCredential(username: String(text[..<colon]),
                                                   password: String(text[text.index(after: colon)...]))
            } else if let username = entry.username, let password = entry.password {
                entries[host] = RegistryCredential(username: username, password: password)
            }
        }
        var helpers: [String: String] = [:]
        for (key, helper) in file.credHelpers ?? [:] where !helper.isEmpty { helpers[normalizedHost(key)] = helper }
        let store = file.credsStore.flatMap { $0.isEmpty ? nil : $0 }
        return RegistryCredentials(entries: entries, helpers: helpers, store: store)
    }

    /// The credential for a registry domain (`docker.io` also matches docker's `https://index.docker.io/v1/`).
    public func credential(for domain: String) throws(RegistryError) -> RegistryCredential? {
        let host = RegistryCredentials.normalizedHost(domain)
        if let helper = helpers[host] { return try ask(helper, host: host) }
        if let entry = entries[host] { return entry }
        if let store { return try ask(store, host: host) }
        return nil
    }

    /// Runs `docker-credential-NAME get`; "credentials not found" means none.
    private func ask(_ helper: String, host: String) throws(RegistryError) -> RegistryCredential? {
        guard !helper.contains("/") else { throw .credentials("invalid credential helper name \"\(helper)\"") }
        let program = "docker-credential-" + helper
        let server = host == "docker.io" ? "https://index.docker.io/v1/" : host
        let process = Process()
        // The server name goes to the helper's standard input through a shell pipeline, not from this process:
        // writing into a pipe whose reader is gone (a helper that exits at once) would raise SIGPIPE here.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"printf '%s' "$1" | PATH="$2" exec "$0" get"#, program, server, searchPath]
        let output = Pipe(), errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw .credentials("cannot run \(program): \(error)") }
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: answer + complaint, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            if text.lowercased().contains("credentials not found") { return nil }
            if process.terminationStatus == 127 { throw .credentials("\(program) is not installed (named in the docker config)") }
            throw .credentials("\(program) get \(server) failed: \(text)")
        }
        struct Answer: Decodable { var Username: String?; var Secret: String? }
        guard let decoded = try? CanonicalJSON.decode(Answer.self, from: [UInt8](answer)),
              let username = decoded.Username, let secret = decoded.Secret else {
            throw .credentials("\(program) get \(server): unexpected answer")
        }
        return RegistryCredential(username: username, password: secret)
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/` → `host:5000`.
    static func normalizedHost(_ key: String) -> String {
        var host = Substring(key)
        if host.hasPrefix("https://") { host = host.dropFirst(8) } else if host.hasPrefix("http://") { host = host.dropFirst(7) }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(host)
        }
    }

    /// The config file the environment names: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    public static func configPath(environment: [String: String]) -> String? {
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { return dir + "/config.json" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.docker/config.json" }
        return nil
    }

    /// Writes (or with nil, removes) the `auths` entry of `domain` in docker's config file, keeping every other
    /// key; the file is replaced atomically with mode 0600. Returns false when removing an entry that was not there.
    @discardableResult
    public static func save(_ credential: RegistryCredential?, for domain: String,
                            environment: [String: String]) throws(RegistryError) -> Bool {
        guard let path = configPath(environment: environment) else {
            throw .credentials("cannot find docker's config file: set DOCKER_CONFIG or HOME")
        }
        let key = domain == "docker.io" ? "https://index.docker.io/v1/" : domain
        var document: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw .credentials("\(path): malformed JSON")
            }
            document = object
        }
        var auths = document["auths"] as? [String: Any] ?? [:]
        let existed = auths.keys.contains { normalizedHost($0) == normalizedHost(domain) }
        for name in auths.keys where normalizedHost(name) == normalizedHost(domain) { auths[name] = nil }
        if let credential {
            auths[key] = ["auth": Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()]
        } else if !existed {
            return false
        }
        document["auths"] = auths
        do {
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let bytes = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            let temporary = path + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: bytes,
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw RegistryError.credentials("cannot write \(temporary)")
            }
            guard rename(temporary, path) == 0 else {
                let code = errno
                unlink(temporary)
                throw RegistryError.credentials("rename \(temporary): \(String(cString: strerror(code)))")
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .credentials("\(path): \(error)")
        }
        return true
    }
}
