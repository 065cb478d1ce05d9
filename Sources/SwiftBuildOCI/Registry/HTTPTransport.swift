/// One HTTP request: method, absolute URL and headers. The body is given separately (`HTTPRequestBody`).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// In order; names are sent as given.
    public var headers: [(name: String, value: String)]

    public init(method: String, url: String, headers: [(name: String, value: String)] = []) {
        self.method = method
        self.url = url
        self.headers = headers
    }
}

/// What is sent as the request body.
public enum HTTPRequestBody: Sendable {
    case none
    case bytes([UInt8])
    /// `length` bytes read from the open descriptor's current offset (streamed, never held in memory).
    case file(descriptor: Int32, length: Int64)
}

/// A response's status and headers (header names compared without case). The body went to the sink.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body of a non-2xx response (at most 64 KiB), for error messages; the sink never sees it.
    public var errorBody: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], errorBody: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.errorBody = errorBody
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.last(where: { $0.name.lowercased() == lower })?.value
    }

    public func headers(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why a request got no HTTP response.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public var method: String
    public var url: String
    public var message: String
    /// The body sink threw (a local write failed); the transfer was stopped.
    public var sinkFailure: (any Error)?

    public init(method: String, url: String, message: String, sinkFailure: (any Error)? = nil) {
        self.method = method
        self.url = url
        self.message = message
        self.sinkFailure = sinkFailure
    }

    public var description: String {
        if let sinkFailure { return "\(method) \(url): \(sinkFailure)" }
        return "\(method) \(url): \(message)"
    }
}

/// The HTTP layer the registry client talks to, so tests and embedders can put another one in its place.
///
/// `send` blocks until the response is complete. Body bytes of a 2xx response are handed to `receive` as they
/// arrive, with the response's status (200, or 206 for a range); memory stays bounded: the transport never holds
/// a whole body. If `receive` throws, the transfer stops and
/// the error comes back as `HTTPError.sinkFailure`. Bodies of other statuses are kept (up to 64 KiB) in
/// `HTTPResponse.errorBody` instead. A response with any status is returned, not thrown: what a status means
/// is the caller's business.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest, body: HTTPRequestBody,
              receive: (_ status: Int, _ chunk: UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponse
}

extension HTTPTransport {
    /// Sends a request and collects a 2xx body of at most `limit` bytes (manifests, tokens).
    public func collect(_ request: HTTPRequest, body: HTTPRequestBody = .none,
                        limit: Int = 8 << 20) throws(HTTPError) -> (HTTPResponse, [UInt8]) {
        var bytes: [UInt8] = []
        let response = try send(request, body: body) { _, chunk in
            guard bytes.count + chunk.count <= limit else {
                throw HTTPError(method: request.method, url: request.url,
                                message: "response body larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk)
        }
        return (response, bytes)
    }
}
