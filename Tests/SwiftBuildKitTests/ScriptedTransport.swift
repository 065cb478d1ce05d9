import Foundation
import TestSupport
import SwiftBuildOCI

/// An `HTTPTransport` answering from a closure, recording every request: for the auth, retry and
/// platform-selection paths that a plain local registry does not exercise.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        /// Deliver only this many body bytes, then fail as a dropped connection.
        var cutAfter: Int? = nil
    }

    private let lock = NSLock()
    private var recorded: [HTTPRequest] = []
    private let answer: @Sendable (HTTPRequest, Int) -> Answer

    /// `answer` gets the request and how many requests came before it.
    init(_ answer: @escaping @Sendable (HTTPRequest, Int) -> Answer) { self.answer = answer }

    var requests: [HTTPRequest] { lock.withLock { recorded } }

    func send(_ request: HTTPRequest, body: HTTPRequestBody,
              receive: (Int, UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponse {
        let count = lock.withLock { () -> Int in
            recorded.append(request)
            return recorded.count - 1
        }
        let reply = answer(request, count)
        guard (200..<300).contains(reply.status) else {
            return HTTPResponse(status: reply.status, headers: reply.headers, errorBody: reply.body)
        }
        if request.method != "HEAD" {
            let delivered = Array(reply.body.prefix(reply.cutAfter ?? reply.body.count))
            do { try delivered.withUnsafeBytes { try receive(reply.status, $0) } } catch {
                throw HTTPError(method: request.method, url: request.url, message: "sink failed", sinkFailure: error)
            }
            if reply.cutAfter != nil {
                throw HTTPError(method: request.method, url: request.url, message: "Connection reset by peer")
            }
        }
        return HTTPResponse(status: reply.status, headers: reply.headers)
    }
}

extension HTTPRequest {
    func header(_ name: String) -> String? { headers.last { $0.name.lowercased() == name.lowercased() }?.value }
}
