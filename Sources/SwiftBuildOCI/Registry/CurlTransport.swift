#if canImport(Glibc)
import Glibc
#endif
import CHTTP
import Synchronization

/// The default `HTTPTransport`: libcurl through the small C client in `CHTTP`.
///
/// Why libcurl and not FoundationNetworking's URLSession or async-http-client: loading FoundationNetworking
/// costs about 8 ms at every process start (and swiftbuild's start-up time matters: most invocations never touch
/// the network), and async-http-client brings in 23 packages that make a clean build several minutes longer.
/// libcurl is loaded with `dlopen` on first use only, so commands that never talk to a registry pay nothing.
/// It streams both directions through callbacks (memory stays bounded), does TLS with the system's CA store,
/// and follows the redirects registries use to send blobs to storage backends. Auth, retries and what a
/// status means stay in Swift (`RegistryClient`).
public struct CurlTransport: HTTPTransport {
    /// Seconds to wait for a connection.
    public var connectTimeout: Int
    /// A transfer that moves no byte for this many seconds is abandoned.
    public var stallTimeout: Int
    /// Idle libcurl handles (with their open connections), shared by the copies of this transport.
    private let handles = CurlHandlePool()

    public init(connectTimeout: Int = 30, stallTimeout: Int = 60) {
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
    }

    public func send(_ request: HTTPRequest, body: HTTPRequestBody,
                     receive: (Int, UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponse {
        try withoutActuallyEscaping(receive) { (escapable) throws(HTTPError) -> HTTPResponse in
            let state = TransferState(receive: escapable)
            return try perform(request, body: body, state: state)
        }
    }

    private func perform(_ request: HTTPRequest, body: HTTPRequestBody,
                         state: TransferState) throws(HTTPError) -> HTTPResponse {
        let lines = request.headers.map { "\($0.name): \($0.value)" }
        // C strings for the header lines live until the call returns.
        let cLines = lines.map { strdup($0) }
        defer { cLines.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = cLines.map { UnsafePointer($0) }
        var status = 0
        var stopped: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        var bodyBytes: [UInt8] = []
        var bodyFD: Int32 = -1
        var bodyLength: Int64 = -1
        switch body {
        case .none: break
        case .bytes(let bytes): bodyBytes = bytes
        case .file(let fd, let length): bodyFD = fd; bodyLength = length
        }
        let hasBytes: Bool = { if case .bytes = body { return true } else { return false } }()
        let handle = try handles.take(method: request.method, url: request.url)
        defer { handles.give(back: handle) }
        let context = Unmanaged.passUnretained(state).toOpaque()
        let rc: Int32 = request.method.withCString { method in
            request.url.withCString { url in
                pointers.withUnsafeMutableBufferPointer { headerPointers in
                    bodyBytes.withUnsafeBytes { bytes in
                        var c = swiftbuild_http_request()
                        c.method = method
                        c.url = url
                        c.headers = UnsafePointer(headerPointers.baseAddress)
                        c.header_count = headerPointers.count
                        c.body_fd = bodyFD
                        c.body_length = bodyLength
                        // A non-nil pointer even for an empty body, so an empty PUT body is still a body.
                        c.body_bytes = hasBytes ? (bytes.baseAddress ?? UnsafeRawPointer(method)) : nil
                        c.body_bytes_length = hasBytes ? bytes.count : 0
                        c.on_header = { data, size, context in
                            guard let data, let context else { return 0 }
                            let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                            state.header(UnsafeRawBufferPointer(start: data, count: size))
                            return 0
                        }
                        c.on_body = { data, size, context in
                            guard let data, let context else { return 0 }
                            let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                            return state.body(UnsafeRawBufferPointer(start: data, count: size)) ? 0 : 1
                        }
                        c.context = context
                        c.follow_redirects = 1
                        c.connect_timeout_seconds = connectTimeout
                        c.low_speed_seconds = stallTimeout
                        var code = 0
                        let rc = swiftbuild_http_perform(handle.pointer, &c, &code, &stopped, &message, message.count)
                        status = code
                        return rc
                    }
                }
            }
        }
        if rc != 0 {
            let text = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) },
                              as: UTF8.self)
            throw HTTPError(method: request.method, url: request.url, message: text,
                            sinkFailure: stopped != 0 ? state.failure : nil)
        }
        return HTTPResponse(status: status, headers: state.headers, errorBody: state.errorBody)
    }
}

/// One libcurl easy handle, freed with the object.
private final class CurlHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    deinit { swiftbuild_http_handle_free(pointer) }
}

/// Handles not in use, so connections are reused (each handle keeps its own connection cache). A handle is used
/// by one request at a time; at most `limit` idle ones are kept.
private final class CurlHandlePool: Sendable {
    private let idle = Mutex<[CurlHandle]>([])
    private let limit = 8

    func take(method: String, url: String) throws(HTTPError) -> CurlHandle {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        var message = [CChar](repeating: 0, count: 256)
        guard let pointer = swiftbuild_http_handle_new(&message, message.count) else {
            let text = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw HTTPError(method: method, url: url, message: text)
        }
        return CurlHandle(pointer)
    }

    func give(back handle: CurlHandle) {
        idle.withLock { if $0.count < limit { $0.append(handle) } }
    }
}

/// What one transfer has seen so far; touched only by the thread running the transfer.
private final class TransferState {
    let receive: (Int, UnsafeRawBufferPointer) throws -> Void
    var status = 0
    var headers: [(name: String, value: String)] = []
    var errorBody: [UInt8] = []
    var failure: (any Error)?

    init(receive: @escaping (Int, UnsafeRawBufferPointer) throws -> Void) { self.receive = receive }

    func header(_ line: UnsafeRawBufferPointer) {
        // Drop the CR LF bytewise: "\r\n" is one Character, so String's hasSuffix("\n") misses it.
        var bytes = line[...]
        while let last = bytes.last, last == 10 || last == 13 { bytes = bytes.dropLast() }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            // A new response (after a redirect or a 100): start over.
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = []
            errorBody = []
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        let name = String(text[..<colon]).trimmingSpaces
        let value = String(text[text.index(after: colon)...]).trimmingSpaces
        headers.append((name, value))
    }

    func body(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard (200..<300).contains(status) else {
            let room = max(0, 65536 - errorBody.count)
            errorBody.append(contentsOf: chunk.prefix(room))
            return true
        }
        do { try receive(status, chunk) } catch {
            failure = error
            return false
        }
        return true
    }
}

extension String {  // fileprivate helpers
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
