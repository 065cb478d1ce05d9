import Foundation
import Testing
import TestSupport
import SwiftBuildOCI
@testable import SwiftBuildKit

/// The libcurl transport against a misbehaving server on 127.0.0.1 (a python3 script started by the test):
/// a 429 then success, a connection dropped mid-blob then resumed with a range, a 403.
@Suite(.serialized) struct RegistryFaultTests {
    static let script = #"""
        import http.server, sys, hashlib
        blob = bytes((i * 7) & 255 for i in range(300000))
        hits = {}
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def do_GET(self):
                n = hits.get(self.path, 0); hits[self.path] = n + 1
                if self.path.startswith("/v2/flaky/blobs/"):
                    if n == 0:
                        self.send_response(429); self.send_header("Retry-After", "0")
                        self.send_header("Content-Length", "0"); self.end_headers(); return
                    self.send_response(200); self.send_header("Content-Length", str(len(blob))); self.end_headers()
                    self.wfile.write(blob); return
                if self.path.startswith("/v2/drop/blobs/"):
                    rng = self.headers.get("Range")
                    if rng:
                        start = int(rng.split("=")[1].rstrip("-"))
                        self.send_response(206); self.send_header("Content-Length", str(len(blob) - start))
                        self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(blob) - 1, len(blob)))
                        self.end_headers(); self.wfile.write(blob[start:]); return
                    self.send_response(200); self.send_header("Content-Length", str(len(blob))); self.end_headers()
                    self.wfile.write(blob[:100000]); self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2); return
                self.send_response(403); body = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """#

    @Test func retriesResumesAndDenials() throws {
        let dir = try TemporaryDirectory()
        let scriptPath = dir.path + "/server.py"
        try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        let port = try TestRegistry.freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [scriptPath, String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: the test process's threads block SIGTERM, and the child inherits that mask.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var tries = 0
        while !TestRegistry.canConnect(port) && tries < 100 {
            tries += 1
            usleep(50_000)
        }

        let blob = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: SHA256Hasher.digest(blob), size: Int64(blob.count))
        let client = RegistryClient(domain: "127.0.0.1:\(port)",
                                    options: RegistryOptions(initialBackoff: .milliseconds(10)))

        let flaky = try ContentStore(root: dir.path + "/flaky")
        try client.fetchBlob(repository: "flaky", descriptor, into: flaky)
        #expect(try flaky.read(descriptor.digest) == blob)

        let dropped = try ContentStore(root: dir.path + "/drop")
        try client.fetchBlob(repository: "drop", descriptor, into: dropped)
        #expect(try dropped.read(descriptor.digest) == blob)

        let denied = try ContentStore(root: dir.path + "/denied")
        let error = #expect(throws: RegistryError.self) { try client.fetchBlob(repository: "secret", descriptor, into: denied) }
        #expect("\(String(describing: error))".contains("access denied (HTTP 403): DENIED: requested access to the resource is denied"))
        #expect(try denied.list().isEmpty)
    }
}
