import Foundation

/// Registries reached over plain HTTP, from a configuration file rather than flags: JSON with docker's
/// `daemon.json` key, `{"insecure-registries": ["registry.internal:5000"]}`. The file is
/// `$SWIFTBUILD_REGISTRIES_CONFIG`, else `$XDG_CONFIG_HOME/swiftbuild/registries.json`
/// (`~/.config/swiftbuild/registries.json`), else `/etc/swiftbuild/registries.json`; the first that exists is read.
public enum RegistryConfigFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "registry configuration \(path): \(reason)" }
    }

    /// The candidate files, in order.
    public static func candidates(environment: [String: String]) -> [String] {
        var out: [String] = []
        if let explicit = environment["SWIFTBUILD_REGISTRIES_CONFIG"], !explicit.isEmpty { return [explicit] }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            out.append(xdg + "/swiftbuild/registries.json")
        } else if let home = environment["HOME"], !home.isEmpty {
            out.append(home + "/.config/swiftbuild/registries.json")
        }
        out.append("/etc/swiftbuild/registries.json")
        return out
    }

    /// The insecure registries the first existing file lists (empty when there is none).
    public static func insecureRegistries(environment: [String: String]) throws(Failure) -> Set<String> {
        for path in candidates(environment: environment) {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw Failure(path: path, reason: "not a JSON object")
            }
            guard let list = object["insecure-registries"] else { return [] }
            guard let hosts = list as? [String] else {
                throw Failure(path: path, reason: "\"insecure-registries\" must be a list of host[:port] strings")
            }
            return Set(hosts)
        }
        return []
    }
}
