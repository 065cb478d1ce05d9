import Foundation
import SwiftBuildOCI

/// An `HTTPTransport` answering from a closure, recording every request: for the auth, retry and
/// platform-selection paths that a plain local registry does not exercise.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
    }

    private let lock = NSLock()
    private var recorded: [HTTPRequest] = []
    private let answer: @Sendable (HTTPRequest, Int) -> Answer

    /// `answer` gets the request and how many requests came before it.
    init(_ answer: @escaping @Sendable (HTTPRequest, Int) -> Answer) { self.answer = answer }

    var requests: [HTTPRequest] { lock.withLock { recorded } }

    func send(_ request: HTTPRequest, body: HTTPRequestBody,
              receive: (UnsafeRawBufferPointer) throws -> Void) throws(HTTPError) -> HTTPResponse {
        let count = lock.withLock { () -> Int in
            recorded.append(request)
            return recorded.count - 1
        }
        let reply = answer(request, count)
        guard (200..<300).contains(reply.status) else {
            return HTTPResponse(status: reply.status, headers: reply.headers, errorBody: reply.body)
        }
        if request.method != "HEAD" {
            do { try reply.body.withUnsafeBytes { try receive($0) } } catch {
                throw HTTPError(method: request.method, url: request.url, message: "sink failed", sinkFailure: error)
            }
        }
        return HTTPResponse(status: reply.status, headers: reply.headers)
    }
}

extension HTTPRequest {
    func header(_ name: String) -> String? { headers.last { $0.name.lowercased() == name.lowercased() }?.value }
}
