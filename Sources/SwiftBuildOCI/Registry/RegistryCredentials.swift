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

/// Credentials from docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
/// the `auths` map (`auth` = base64 `user:password`, or `username`/`password`). `credsStore`/`credHelpers`
/// (docker-credential-* programs) are not consulted yet.
public struct RegistryCredentials: Sendable {
    public var entries: [String: RegistryCredential]

    public init(entries: [String: RegistryCredential] = [:]) { self.entries = entries }

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
        return try parse([UInt8](data), path: path)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws(RegistryError) -> RegistryCredentials {
        struct File: Decodable {
            struct Entry: Decodable { var auth: String?; var username: String?; var password: String? }
            var auths: [String: Entry]?
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
        return RegistryCredentials(entries: entries)
    }

    /// The credential for a registry domain (`docker.io` also matches docker's `https://index.docker.io/v1/`).
    public func credential(for domain: String) -> RegistryCredential? {
        entries[RegistryCredentials.normalizedHost(domain)]
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
}
