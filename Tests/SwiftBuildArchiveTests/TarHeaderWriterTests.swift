import Testing
import TestSupport
@testable import SwiftBuildArchive

/// Header encoding alone, for values a test cannot cheaply create on disk (8 GiB files, huge ids, old mtimes).
@Suite struct TarHeaderWriterTests {
    private func encode(_ meta: TarEntryMetadata, path: String = "f", link: String? = nil) throws -> [ParsedEntry] {
        let sink = MemorySink()
        let output = BlobOutput(sink: sink, hashing: false)
        let stream = TarStream(encoder: UncompressedEncoder(chunkSize: 4096, output: output))
        let writer = TarHeaderWriter()
        let pathBytes = Array(path.utf8)
        try pathBytes.withUnsafeBytes { p in
            if let link {
                try Array(link.utf8).withUnsafeBytes { try writer.write(meta, path: p, linkTarget: $0, xattrs: nil, to: stream) }
            } else {
                try writer.write(meta, path: p, linkTarget: nil, xattrs: nil, to: stream)
            }
        }
        try stream.appendZeros(1024)
        _ = try stream.finish()
        // The parser reads content after a header; give a declared size of 0 to entries with a PAX size.
        return try parseTar(sink.bytes)
    }

    @Test func sizeAbove8GiBUsesPaxRecord() throws {
        let size: Int64 = 9 << 30
        let sink = MemorySink()
        let stream = TarStream(encoder: UncompressedEncoder(chunkSize: 4096, output: BlobOutput(sink: sink, hashing: false)))
        try Array("big".utf8).withUnsafeBytes {
            try TarHeaderWriter().write(TarEntryMetadata(type: .regular, mode: 0o644, uid: 0, gid: 0, size: size, mtime: 0,
                                                         mtimeNanoseconds: 0),
                                        path: $0, linkTarget: nil, xattrs: nil, to: stream)
        }
        _ = try stream.finish()
        // PAX header block, its records (one block), then the ustar header whose size field is saturated.
        #expect(sink.bytes.count == 3 * 512)
        let records = String(decoding: sink.bytes[512..<1024].prefix { $0 != 0 }, as: UTF8.self)
        #expect(records == "19 size=9663676416\n")
        #expect(Array(sink.bytes[(1024 + 124)..<(1024 + 136)]) == Array("77777777777\0".utf8))
    }

    @Test(arguments: [
        (UInt32(2_097_151), UInt32(0), false),   // 07777777: still fits the 8-byte octal field
        (UInt32(2_097_152), UInt32(5), true),
        (UInt32(4_000_000_000), UInt32(4_000_000_000), true),
    ])
    func largeIDs(uid: UInt32, gid: UInt32, needsPax: Bool) throws {
        let e = try encode(TarEntryMetadata(type: .regular, mode: 0o600, uid: uid, gid: gid, size: 0, mtime: 1, mtimeNanoseconds: 0))
        #expect(e.count == 1)
        #expect((e[0].pax["uid"] != nil) == needsPax)
        if needsPax { #expect(e[0].pax["uid"] == Array(String(uid).utf8)) } else { #expect(e[0].uid == Int(uid)) }
    }

    @Test func negativeAndHugeMtimesUsePax() throws {
        let old = try encode(TarEntryMetadata(type: .regular, mode: 0o600, uid: 0, gid: 0, size: 0, mtime: -86_400,
                                              mtimeNanoseconds: 0))
        #expect(old[0].pax["mtime"] == Array("-86400".utf8) && old[0].mtime == 0)
        let far = try encode(TarEntryMetadata(type: .regular, mode: 0o600, uid: 0, gid: 0, size: 0, mtime: 1 << 34,
                                              mtimeNanoseconds: 0))
        #expect(far[0].pax["mtime"] == Array(String(1 << 34).utf8))
    }

    @Test func deviceNumbersAndLargeMinors() throws {
        let e = try encode(TarEntryMetadata(type: .blockDevice, mode: 0o660, uid: 0, gid: 6, size: 0, mtime: 0,
                                            mtimeNanoseconds: 0, deviceMajor: 259, deviceMinor: 3_000_000))
        #expect(e[0].type == UInt8(ascii: "4"))
        #expect(e[0].pax["SCHILY.devminor"] == Array("3000000".utf8) && e[0].pax["SCHILY.devmajor"] == nil)
    }

    /// Record lengths whose digit count changes with the length itself (9→10, 99→100, 999→1000).
    @Test(arguments: [90, 91, 92, 93, 94, 95, 96, 990, 991, 992, 993, 994, 995])
    func paxRecordLengthIsSelfConsistent(_ nameLength: Int) throws {
        let name = String(repeating: "p", count: nameLength)
        let e = try encode(TarEntryMetadata(type: .regular, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0,
                                            mtimeNanoseconds: 0), path: name)
        #expect(e[0].name == name)   // the parser checks each record's declared length against its newline
    }
}
