/// Why a registry operation failed. Each case names the registry object it was about.
public enum RegistryError: Error, CustomStringConvertible, Sendable {
    /// No HTTP response (connection refused, TLS, timeout, reset), after the retries.
    case transport(HTTPError)
    /// The registry answered `status` where success was expected. `what` names the object
    /// (`manifest localhost:5000/app:v1`); `detail` is the registry's error message, if it gave one.
    case status(what: String, status: Int, detail: String)
    /// The object does not exist (404).
    case notFound(what: String)
    /// 401 after authenticating, or 403.
    case unauthorized(what: String, status: Int, detail: String)
    /// Downloaded bytes do not match the digest or size they were asked for; nothing was stored.
    case verification(what: String, reason: String)
    /// A response was not what the distribution API promises (a missing header, malformed JSON).
    case protocolViolation(what: String, reason: String)
    /// Storing a blob failed locally.
    case store(what: String, error: ContentStoreError)
    /// A credentials file or helper could not be used.
    case credentials(String)

    public var description: String {
        switch self {
        case .transport(let error): return error.description
        case .status(let what, let status, let detail):
            return "\(what): registry answered HTTP \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        case .notFound(let what): return "\(what): not found"
        case .unauthorized(let what, let status, let detail):
            return "\(what): access denied (HTTP \(status))" + (detail.isEmpty ? "" : ": \(detail)")
                + " (log in with credentials in ~/.docker/config.json, or check the name)"
        case .verification(let what, let reason): return "\(what): \(reason); nothing was stored"
        case .protocolViolation(let what, let reason): return "\(what): unexpected registry response: \(reason)"
        case .store(let what, let error): return "\(what): \(error)"
        case .credentials(let message): return "registry credentials: \(message)"
        }
    }
}
