#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// How to reach registries: which hosts speak plain HTTP, whose credentials to use, the transport.
public struct RegistryOptions: Sendable {
    /// Hosts (`host` or `host:port`) reached over plain HTTP. `localhost`, `127.0.0.1` and `[::1]` always are.
    public var insecureRegistries: Set<String>
    public var credentials: RegistryCredentials
    public var transport: any HTTPTransport
    /// Attempts for a request answered 429/5xx or without a response (at least 1).
    public var attempts: Int
    /// The wait before the first retry; doubled for each further one.
    public var initialBackoff: Duration
    /// Blobs larger than this are uploaded in PATCH chunks of this size; smaller ones in one PUT.
    public var chunkSize: Int64
    /// Blobs of one image transferred at once.
    public var parallelTransfers: Int

    public init(insecureRegistries: Set<String> = [], credentials: RegistryCredentials = RegistryCredentials(),
                transport: any HTTPTransport = CurlTransport(), attempts: Int = 4,
                initialBackoff: Duration = .milliseconds(250), chunkSize: Int64 = 64 << 20,
                parallelTransfers: Int = 4) {
        self.parallelTransfers = max(1, parallelTransfers)
        self.insecureRegistries = insecureRegistries
        self.credentials = credentials
        self.transport = transport
        self.attempts = max(1, attempts)
        self.initialBackoff = initialBackoff
        self.chunkSize = max(1, chunkSize)
    }
}

/// A client of one registry (OCI distribution API), e.g. `docker.io` or `127.0.0.1:5000`.
///
/// Every request goes through `send`, which authenticates (anonymous first; on a 401 it answers the
/// `WWW-Authenticate` challenge: a Bearer token fetched from the realm for the repository's scope, with basic
/// credentials when there are some, or basic auth directly) and retries 429/5xx answers and failed connections
/// with exponential backoff. Tokens are kept per scope for the client's lifetime. Thread-safe.
public final class RegistryClient: Sendable {
    /// The domain as references name it (`docker.io`).
    public let domain: String
    /// `https://registry-1.docker.io` / `http://127.0.0.1:5000`.
    public let baseURL: String
    let options: RegistryOptions
    private let authorizations = Mutex<[String: String]>([:])

    public init(domain: String, options: RegistryOptions = RegistryOptions()) {
        self.domain = domain
        self.options = options
        let host = domain == "docker.io" ? "registry-1.docker.io" : domain
        let hostOnly = host.hasPrefix("[") ? String(host.prefix(while: { $0 != "]" })) + "]"
            : String(host.prefix(while: { $0 != ":" }))
        let plain = ["localhost", "127.0.0.1", "[::1]"].contains(hostOnly) || options.insecureRegistries.contains(domain)
            || options.insecureRegistries.contains(host)
        baseURL = (plain ? "http://" : "https://") + host
    }

    /// Sends a request to `path` (starting with `/v2/`, or an absolute URL from a `Location` header), for
    /// `repository` with `actions` (`pull`, `push`) in the token scope. A 401 is answered once with
    /// credentials; 429/5xx and transport failures are retried (a request body from a file is re-read from its
    /// start), but not a failure after body bytes reached `receive`.
    func send(_ method: String, _ path: String, repository: String, actions: String,
              headers: [(name: String, value: String)] = [], body: HTTPRequestBody = .none,
              receive: (Int, UnsafeRawBufferPointer) throws -> Void = { _, _ in }) throws(RegistryError) -> HTTPResponse {
        let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + path
        let scope = repository.isEmpty ? "" : "repository:\(repository):\(actions)"
        var authenticated = false
        var attempt = 0
        var delay = options.initialBackoff
        let startOffset: Int64? = { if case .file(let fd, _) = body { return Int64(lseek(fd, 0, SEEK_CUR)) } else { return nil } }()
        while true {
            attempt += 1
            var request = HTTPRequest(method: method, url: url, headers: headers)
            // Credentials go to this registry only, never to another host a Location points at.
            if url.hasPrefix(baseURL + "/"), let authorization = authorizations.withLock({ $0[scope] ?? $0[""] }) {
                request.headers.append(("Authorization", authorization))
            }
            if case .file(let fd, _) = body, let startOffset, attempt > 1 { _ = lseek(fd, off_t(startOffset), SEEK_SET) }
            let response: HTTPResponse
            var received = false
            do {
                response = try options.transport.send(request, body: body) { status, chunk in
                    received = true
                    try receive(status, chunk)
                }
            } catch {
                // A sink failure is local (disk full): retrying does not help. Once body bytes went to the sink,
                // only the caller can go on (fetchBlob resumes with a range).
                guard error.sinkFailure == nil, !received, attempt < options.attempts else { throw .transport(error) }
                sleep(for: &delay)
                continue
            }
            if response.status == 401 && !authenticated {
                authenticated = true
                try authenticate(response, scope: scope)
                continue
            }
            if (response.status == 429 || response.status >= 500) && attempt < options.attempts {
                sleep(for: &delay, retryAfter: response.header("Retry-After"))
                continue
            }
            return response
        }
    }

    private func sleep(for delay: inout Duration, retryAfter: String? = nil) {
        var wait = delay
        if let retryAfter, let seconds = Int(retryAfter), seconds >= 0 { wait = .seconds(min(seconds, 30)) }
        let (s, attoseconds) = wait.components
        var time = timespec(tv_sec: Int(s), tv_nsec: Int(attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&time, &left) != 0 && errno == EINTR { time = left }
        delay = delay * 2
    }

    /// Answers a 401's challenge: stores the Authorization header to send for `scope`.
    private func authenticate(_ response: HTTPResponse, scope: String) throws(RegistryError) {
        let credential = try options.credentials.credential(for: domain)
        let challenges = response.headers("WWW-Authenticate").compactMap(AuthChallenge.init(parsing:))
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }), let realm = bearer.parameters["realm"] {
            var url = realm + (realm.contains("?") ? "&" : "?")
            var query: [String] = []
            if let service = bearer.parameters["service"] { query.append("service=" + Self.percentEncoded(service)) }
            if !scope.isEmpty { query.append("scope=" + Self.percentEncoded(scope)) }
            url += query.joined(separator: "&")
            var request = HTTPRequest(method: "GET", url: url)
            if let credential { request.headers.append(("Authorization", credential.basicAuthorization)) }
            let (tokenResponse, bytes): (HTTPResponse, [UInt8])
            do { (tokenResponse, bytes) = try options.transport.collect(request, limit: 1 << 20) } catch {
                throw .transport(error)
            }
            guard tokenResponse.isSuccess else {
                throw .unauthorized(what: "token for \(scope) from \(realm)", status: tokenResponse.status,
                                    detail: Self.detail(tokenResponse))
            }
            struct Token: Decodable { var token: String?; var access_token: String? }
            guard let decoded = try? CanonicalJSON.decode(Token.self, from: bytes),
                  let token = decoded.token ?? decoded.access_token, !token.isEmpty else {
                throw .protocolViolation(what: "token from \(realm)", reason: "no token in the answer")
            }
            authorizations.withLock { $0[scope] = "Bearer " + token }
        } else if challenges.contains(where: { $0.scheme == "basic" }), let credential {
            authorizations.withLock { $0[""] = credential.basicAuthorization }
        } else {
            throw .unauthorized(what: "\(baseURL) (\(scope))", status: 401, detail: Self.detail(response))
        }
    }

    /// The registry's error message from an error body (`{"errors":[{"code","message"}]}`), else its text.
    static func detail(_ response: HTTPResponse) -> String {
        struct Body: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }
            var errors: [Item]?
        }
        if let body = try? CanonicalJSON.decode(Body.self, from: response.errorBody), let errors = body.errors {
            return errors.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
        }
        return String(decoding: response.errorBody.prefix(200), as: UTF8.self)
    }

    /// Turns a non-success response into the error for `what`.
    static func failure(_ response: HTTPResponse, what: String) -> RegistryError {
        switch response.status {
        case 404: return .notFound(what: what)
        case 401, 403: return .unauthorized(what: what, status: response.status, detail: detail(response))
        default: return .status(what: what, status: response.status, detail: detail(response))
        }
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }

    /// Checks that the registry accepts this client's credentials (`GET /v2/`, answering its challenge).
    public func checkLogin() throws(RegistryError) {
        let response = try send("GET", "/v2/", repository: "", actions: "")
        guard response.isSuccess else { throw Self.failure(response, what: "login to \(domain)") }
    }

    /// Makes a `Location` header absolute (it may be a path on this registry).
    func absolute(_ location: String) -> String {
        location.hasPrefix("http://") || location.hasPrefix("https://") ? location : baseURL + location
    }
}
