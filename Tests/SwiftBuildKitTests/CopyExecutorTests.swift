import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import SwiftBuildKit
@testable import SwiftBuildDockerfile
import SwiftBuildOCI

/// A context directory and a rootfs in a scratch directory.
struct CopyFixture {
    let scratch: TemporaryDirectory
    let context: String
    let rootfs: String
    let temp: String

    init() throws {
        scratch = try TemporaryDirectory()
        context = try scratch.sub("ctx")
        rootfs = try scratch.sub("rootfs")
        temp = try scratch.sub("tmp")
    }

    func copy(_ sources: [String], _ destination: String, ignore: [String] = [], fromDirectory: Bool = false,
              configure: (inout CopyRequest) -> Void = { _ in }) async throws {
        var request = CopyRequest(sources: sources.map { .path($0) }, destination: destination)
        configure(&request)
        try await run(request, ignore: ignore, fromDirectory: fromDirectory)
    }

    func run(_ request: CopyRequest, ignore: [String] = [], fromDirectory: Bool = false) async throws {
        let source: CopySourceRoot = fromDirectory
            ? .directory(context) : .context(try BuildContext(directory: context, excludePatterns: ignore))
        try await CopyExecutor(source: source, rootfs: rootfs, scratch: temp).run(request)
    }

    func mode(_ path: String) -> UInt32? { lstatOf(rootfs + path).map { UInt32($0.st_mode) & 0o7777 } }
    func owner(_ path: String) -> [UInt32]? { lstatOf(rootfs + path).map { [$0.st_uid, $0.st_gid] } }
}

func copyError(_ body: () async throws -> Void) async -> String? {
    do { try await body() } catch { return "\(error)" }
    return nil
}

@Suite(.serialized) struct CopyExecutorTests {
    @Test func directorySourceCopiesItsContents() async throws {
        let f = try CopyFixture()
        try put(f.context + "/src/a", "a", mode: 0o640)
        try put(f.context + "/src/sub/b", "b")
        chmod(f.context + "/src", 0o700)
        try await f.copy(["src"], "/app")
        #expect(tree(f.rootfs) == ["app", "app/a", "app/sub", "app/sub/b"])
        #expect(f.mode("/app") == 0o755, "a created destination is 0755, not the source dir's mode")
        #expect(f.mode("/app/a") == 0o640)
        #expect(f.owner("/app/a") == [0, 0])
        #expect(text(f.rootfs + "/app/sub/b") == "b")
        // mtime kept
        #expect(lstatOf(f.rootfs + "/app/a")?.st_mtim.tv_sec == lstatOf(f.context + "/src/a")?.st_mtim.tv_sec)
    }

    @Test func fileDestinations() async throws {
        let f = try CopyFixture()
        try put(f.context + "/a.txt", "A")
        try FileManager.default.createDirectory(atPath: f.rootfs + "/etc", withIntermediateDirectories: true)
        try await f.copy(["a.txt"], "/new")
        try await f.copy(["a.txt"], "/newdir/")
        try await f.copy(["/a.txt"], "/etc")
        try await f.copy(["../../a.txt"], "/x/../y/renamed")
        #expect(text(f.rootfs + "/new") == "A")
        #expect(text(f.rootfs + "/newdir/a.txt") == "A")
        #expect(text(f.rootfs + "/etc/a.txt") == "A")
        #expect(text(f.rootfs + "/y/renamed") == "A")
        #expect(!FileManager.default.fileExists(atPath: f.rootfs + "/x"))
    }

    @Test func wildcardsAndErrors() async throws {
        let f = try CopyFixture()
        try put(f.context + "/a.txt", "a")
        try put(f.context + "/b.txt", "b")
        try put(f.context + "/c.md", "c")
        try put(f.context + "/d1/x", "x")
        try put(f.context + "/d2/y", "y")
        try await f.copy(["*.txt"], "/w/")
        #expect(tree(f.rootfs + "/w") == ["a.txt", "b.txt"])
        try await f.copy(["[bc].*", "d?"], "/v/")
        #expect(tree(f.rootfs + "/v") == ["b.txt", "c.md", "x", "y"], "matched directories copy their contents")
        try await f.copy(["nomatch*"], "/empty/")  // BuildKit allows an empty wildcard
        #expect(tree(f.rootfs + "/empty").isEmpty)

        let multi = await copyError { try await f.copy(["a.txt", "b.txt"], "/file") }
        #expect(multi == "When using COPY with more than one source file, the destination must be a directory and end with a /")
        #expect(await copyError { try await f.copy(["nope"], "/x") } == "\"/nope\": not found")
        #expect(await copyError { try await f.copy(["d1/../nope/f"], "/x") } == "\"/nope/f\": not found")
    }

    @Test func parentsOwnershipAndExistingDirectories() async throws {
        let f = try CopyFixture()
        try put(f.context + "/src/f", "f")
        try await f.copy(["src/f"], "/x/y/z/") { $0.owner = .init(uid: 1000, gid: 1001) }
        for dir in ["/x", "/x/y", "/x/y/z"] {
            #expect(f.mode(dir) == 0o755)
            #expect(f.owner(dir) == [1000, 1001])
        }
        #expect(f.owner("/x/y/z/f") == [1000, 1001])

        // An existing destination directory keeps its owner and mode; one below it takes the source's.
        try FileManager.default.createDirectory(atPath: f.rootfs + "/app/sub", withIntermediateDirectories: true)
        chmod(f.rootfs + "/app", 0o700)
        chown(f.rootfs + "/app", 5, 6)
        chmod(f.rootfs + "/app/sub", 0o711)
        try put(f.context + "/src/sub/g", "g")
        try await f.copy(["src"], "/app") { $0.owner = .init(uid: 7, gid: 7) }
        #expect(f.mode("/app") == 0o700 && f.owner("/app") == [5, 6])
        #expect(lstatOf(f.rootfs + "/app")?.st_mtim.tv_sec == lstatOf(f.context + "/src")?.st_mtim.tv_sec)
        chmod(f.context + "/src/sub", 0o750)
        try await f.copy(["src"], "/app") { $0.owner = .init(uid: 7, gid: 7) }
        #expect(f.mode("/app/sub") == 0o750 && f.owner("/app/sub") == [7, 7])
        #expect(f.owner("/app/sub/g") == [7, 7])
    }

    @Test func chmodOctalAndSymbolic() async throws {
        let f = try CopyFixture()
        try put(f.context + "/d/file", "x", mode: 0o644)
        try put(f.context + "/d/tool", "x", mode: 0o755)
        try await f.copy(["d"], "/o") { $0.chmod = .octal(0o600) }
        #expect(f.mode("/o/file") == 0o600 && f.mode("/o/tool") == 0o600)
        try FileManager.default.createDirectory(atPath: f.context + "/d/sub", withIntermediateDirectories: true)
        chmod(f.context + "/d/sub", 0o700)
        let symbolic = try Chmod.parse("go-rwx,a+X")
        try await f.copy(["d"], "/s") { $0.chmod = symbolic }
        #expect(f.mode("/s/file") == 0o600)
        #expect(f.mode("/s/tool") == 0o711)
        #expect(f.mode("/s/sub") == 0o711)
    }

    @Test func ownershipFromContextAndFromStage() async throws {
        let f = try CopyFixture()
        try put(f.context + "/f", "f")
        chown(f.context + "/f", 1234, 4321)
        try await f.copy(["f"], "/ctx")
        #expect(f.owner("/ctx") == [0, 0])
        try await f.copy(["f"], "/stage", fromDirectory: true)
        #expect(f.owner("/stage") == [1234, 4321])
    }

    @Test func parentsFlag() async throws {
        let f = try CopyFixture()
        try put(f.context + "/a/b/c.txt", "c")
        try put(f.context + "/a/b2/c.txt", "c2")
        try put(f.context + "/x/y/z", "z")
        chmod(f.context + "/a/b", 0o710)
        try await f.copy(["a/*/c.txt", "./x/./y/z"], "/dst/") { $0.parents = true }
        #expect(tree(f.rootfs + "/dst") == ["a", "a/b", "a/b/c.txt", "a/b2", "a/b2/c.txt", "y", "y/z"])
        #expect(f.mode("/dst/a/b") == 0o710, "parents take the source directory's mode")
        #expect(f.mode("/dst") == 0o755)
        try await f.copy(["."], "/whole/") { $0.parents = true }
        #expect(text(f.rootfs + "/whole/x/y/z") == "z")
    }

    @Test func excludeAndDockerignore() async throws {
        let f = try CopyFixture()
        try put(f.context + "/keep.txt", "k")
        try put(f.context + "/drop.log", "d")
        try put(f.context + "/sub/deep.log", "d")
        try put(f.context + "/sub/ok", "o")
        try put(f.context + "/secret", "s")
        try await f.copy(["."], "/app", ignore: ["secret"]) { $0.excludes = ["*.log", "**/*.log"] }
        #expect(tree(f.rootfs + "/app") == ["keep.txt", "sub", "sub/ok"])
        try await f.copy(["*"], "/w/") { $0.excludes = ["*.log", "sub"] }
        #expect(tree(f.rootfs + "/w") == ["keep.txt", "secret"])
        #expect(await copyError { try await f.copy(["secret"], "/s", ignore: ["secret"]) } == "\"/secret\": not found")
    }

    @Test func symlinksInContextStayInside() async throws {
        let f = try CopyFixture()
        let outside = try f.scratch.sub("outside")
        try put(outside + "/passwd", "host secret")
        try put(f.context + "/etc/passwd", "context copy")
        try FileManager.default.createSymbolicLink(atPath: f.context + "/abs", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: f.context + "/rel", withDestinationPath: "../outside/passwd")
        try FileManager.default.createSymbolicLink(atPath: f.context + "/dirlink", withDestinationPath: "../../..")
        try await f.copy(["abs"], "/a")
        #expect(text(f.rootfs + "/a") == "context copy", "an absolute link resolves inside the context")
        #expect(await copyError { try await f.copy(["rel"], "/r") } == "\"/rel\": not found")
        try await f.copy(["dirlink/etc/passwd"], "/d")
        #expect(text(f.rootfs + "/d") == "context copy")
        // Inside a copied directory, links are copied as links, not followed.
        try await f.copy(["."], "/all/")
        #expect(lstatOf(f.rootfs + "/all/rel").map { $0.st_mode & S_IFMT } == S_IFLNK)
    }

    @Test func destinationSymlinksInRootfsAreClamped() async throws {
        let f = try CopyFixture()
        try put(f.context + "/f", "f")
        try put(f.context + "/dir/g", "g")
        let hostTarget = f.scratch.path + "/escaped"
        try FileManager.default.createSymbolicLink(atPath: f.rootfs + "/app", withDestinationPath: "../../../../../../" + hostTarget)
        try FileManager.default.createSymbolicLink(atPath: f.rootfs + "/abs", withDestinationPath: hostTarget)
        try await f.copy(["f"], "/app/")
        try await f.copy(["dir"], "/abs/sub")
        #expect(!FileManager.default.fileExists(atPath: hostTarget))
        #expect(text(f.rootfs + hostTarget + "/f") == "f")
        #expect(text(f.rootfs + hostTarget + "/sub/g") == "g")
        // A file replacing a symlink in a directory replaces the link, never writes through it.
        try put(f.scratch.path + "/victim", "v")
        try FileManager.default.createDirectory(atPath: f.rootfs + "/d", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: f.rootfs + "/d/f", withDestinationPath: f.scratch.path + "/victim")
        try await f.copy(["f"], "/d/")
        #expect(text(f.scratch.path + "/victim") == "v")
        #expect(text(f.rootfs + "/d/f") == "f")
        // A directory over an existing file fails like BuildKit.
        try put(f.rootfs + "/plain", "p")
        try FileManager.default.createDirectory(atPath: f.context + "/tree/plain", withIntermediateDirectories: true)
        #expect(await copyError { try await f.copy(["tree"], "/") } == "cannot copy to non-directory: /plain")
        // A file over an existing directory fails too.
        try FileManager.default.createDirectory(atPath: f.rootfs + "/isdir", withIntermediateDirectories: true)
        try put(f.context + "/t2/isdir", "file")
        #expect(await copyError { try await f.copy(["t2"], "/") } == "cannot replace to directory /isdir with file")
    }

    @Test func heredocSources() async throws {
        let f = try CopyFixture()
        let request = CopyRequest(sources: [.heredoc(name: "EOF", contents: Array("hello\n".utf8))], destination: "/etc/greeting")
        try await f.run(request)
        #expect(text(f.rootfs + "/etc/greeting") == "hello\n")
        #expect(f.mode("/etc/greeting") == 0o644)
        let two = CopyRequest(sources: [.heredoc(name: "one", contents: [0x31]), .heredoc(name: "two", contents: [0x32])],
                              destination: "/h/")
        try await f.run(two)
        #expect(tree(f.rootfs + "/h") == ["one", "two"])
    }
}


@Suite(.serialized) struct AddExecutorTests {
    @Test(arguments: ["", "gzip", "bzip2", "xz", "zstd"])
    func localArchivesAreExtracted(compressor: String) async throws {
        let f = try CopyFixture()
        let src = try f.scratch.sub("archive-src")
        try put(src + "/top/file", "in archive")
        try put(src + "/.wh.kept", "whiteout-looking names are plain files in ADD")
        try shell("cd \(src) && tar --owner=1200 --group=1300 --numeric-owner -cf \(f.context)/a.tar top .wh.kept")
        var name = "a.tar"
        if !compressor.isEmpty {
            try shell("cd \(f.context) && \(compressor) -q \(compressor == "zstd" ? "--rm " : "")a.tar")
            name = try shell("cd \(f.context) && ls a.tar.*").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!FileManager.default.fileExists(atPath: f.context + "/a.tar"))
            // Detected by content, not name.
            try FileManager.default.moveItem(atPath: f.context + "/" + name, toPath: f.context + "/payload.bin")
            name = "payload.bin"
        }
        try await f.copy([name], "/opt/x") { $0.isAdd = true }
        #expect(text(f.rootfs + "/opt/x/top/file") == "in archive")
        #expect(FileManager.default.fileExists(atPath: f.rootfs + "/opt/x/.wh.kept"))
        #expect(f.owner("/opt/x/top/file") == [1200, 1300])
        // COPY never extracts.
        try await f.copy([name], "/copied") 
        #expect(lstatOf(f.rootfs + "/copied").map { $0.st_mode & S_IFMT } == S_IFREG)
        #expect(tree(f.temp).isEmpty, "staging removed")
    }

    @Test func notAnArchiveIsCopied() async throws {
        let f = try CopyFixture()
        try put(f.context + "/plain.tar", "not really a tar")
        try await f.copy(["plain.tar"], "/p/") { $0.isAdd = true }
        #expect(text(f.rootfs + "/p/plain.tar") == "not really a tar")
    }

    @Test func urlsWithChecksums() async throws {
        let f = try CopyFixture()
        let served = try f.scratch.sub("www")
        try put(served + "/file.txt", "downloaded\n")
        try shell("touch -d '2020-01-02 03:04:05 UTC' \(served)/file.txt")
        let port = Int.random(in: 20000...40000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", served]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: the test process's threads block SIGTERM, and the child inherits that mask.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(port)/file.txt"
        var up = false
        for _ in 0..<50 where !up {
            up = (try? shell("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(port)))'")) != nil
            if !up { try await Task.sleep(for: .milliseconds(100)) }
        }
        let good = SHA256Hasher.digest(Array("downloaded\n".utf8))
        try await f.run(CopyRequest(sources: [.url(url)], destination: "/dl/", isAdd: true, checksum: good))
        #expect(text(f.rootfs + "/dl/file.txt") == "downloaded\n")
        #expect(f.mode("/dl/file.txt") == 0o600)
        #expect(lstatOf(f.rootfs + "/dl/file.txt")?.st_mtim.tv_sec == 1577934245)
        try await f.run(CopyRequest(sources: [.url(url)], destination: "/named", isAdd: true))
        #expect(text(f.rootfs + "/named") == "downloaded\n")

        let bad = SHA256Hasher.digest(Array("other".utf8))
        let message = await copyError {
            try await f.run(CopyRequest(sources: [.url(url)], destination: "/bad/", isAdd: true, checksum: bad))
        }
        #expect(message?.hasPrefix("digest mismatch for \(url)") == true)
        #expect(!FileManager.default.fileExists(atPath: f.rootfs + "/bad/file.txt"))
        let missing = await copyError {
            try await f.run(CopyRequest(sources: [.url("http://127.0.0.1:\(port)/nope")], destination: "/m/", isAdd: true))
        }
        #expect(missing?.contains("404") == true)
    }

    @Test func gitAndURLErrors() async throws {
        let f = try CopyFixture()
        for url in ["https://github.com/o/r.git", "git@github.com:o/r.git", "https://github.com/o/r.git#main"] {
            let m = await copyError { try await f.run(CopyRequest(sources: [.url(url)], destination: "/g/", isAdd: true)) }
            #expect(m == "git sources are not supported yet: \(url)")
        }
        let copy = await copyError { try await f.run(CopyRequest(sources: [.url("http://x/y")], destination: "/g/")) }
        #expect(copy == "source can't be a URL for COPY: http://x/y")
        try put(f.context + "/f", "f")
        let checksum = await copyError {
            try await f.run(CopyRequest(sources: [.path("f")], destination: "/g/", isAdd: true,
                                        checksum: SHA256Hasher.digest([1])))
        }
        #expect(checksum == "checksum can't be specified for non-HTTP sources")
        let onCopy = await copyError {
            try await f.run(CopyRequest(sources: [.url("http://x/y")], destination: "/g/", checksum: SHA256Hasher.digest([1])))
        }
        #expect(onCopy == "checksum can't be specified for COPY")
        let gitCopy = await copyError { try await f.run(CopyRequest(sources: [.url("https://h/r.git")], destination: "/g/")) }
        #expect(gitCopy == "source can't be a git ref for COPY")
    }
}

@Suite struct CopyCancellationTests {
    @Test func cancelledTaskStops() async throws {
        let f = try CopyFixture()
        for i in 0..<50 { try put(f.context + "/many/f\(i)", "x") }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await f.copy(["many"], "/m")
        }
        await #expect(throws: CopyError.cancelled) { try await task.value }
    }
}

@Suite struct CopyHardlinkTests {
    @Test func hardlinksInACopiedTreeStayLinked() async throws {
        let f = try CopyFixture()
        try put(f.context + "/d/a", "same")
        #expect(link(f.context + "/d/a", f.context + "/d/b") == 0)
        try await f.copy(["d"], "/h")
        let a = try #require(lstatOf(f.rootfs + "/h/a")), b = try #require(lstatOf(f.rootfs + "/h/b"))
        #expect(a.st_ino == b.st_ino)
        #expect(text(f.rootfs + "/h/b") == "same")
    }
}
