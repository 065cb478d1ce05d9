import CSys
import Testing
import TestSupport
@testable import SwiftBuildKit
#if canImport(Glibc)
import Glibc
#endif

struct UserResolverTests {
    struct Case: Sendable, CustomStringConvertible {
        let user: String
        let uid: UInt32
        let gid: UInt32
        let groups: [UInt32]
        var description: String { user }
    }

    static let cases: [Case] = [
        Case(user: "", uid: 0, gid: 0, groups: []),
        Case(user: "root", uid: 0, gid: 0, groups: []),
        Case(user: "app", uid: 1000, gid: 1000, groups: [1000, 2000]),
        Case(user: "app:extra", uid: 1000, gid: 2000, groups: []),
        Case(user: "app:4242", uid: 1000, gid: 4242, groups: []),
        Case(user: "nobody", uid: 65534, gid: 65534, groups: []),
        // All-numeric values are taken as they are, as BuildKit does: no passwd lookup, gid 0 by default.
        Case(user: "1000", uid: 1000, gid: 0, groups: []),
        Case(user: "1234:5678", uid: 1234, gid: 5678, groups: []),
        Case(user: "5555", uid: 5555, gid: 0, groups: []),
        Case(user: "1000:extra", uid: 1000, gid: 2000, groups: []),
        Case(user: "7777:root", uid: 7777, gid: 0, groups: []),
    ]

    @Test(arguments: cases) func resolves(_ c: Case) throws {
        let scratch = try sandboxScratch()
        let root = try scratch.sub("rootfs")
        try BusyboxRootfs.make(at: root)
        let resolved = try UserResolver.resolve(c.user, rootfs: root)
        #expect(resolved.uid == c.uid)
        #expect(resolved.gid == c.gid)
        #expect(resolved.groups == c.groups)
    }

    @Test func unknownNamesAreClearErrors() throws {
        let scratch = try sandboxScratch()
        let root = try scratch.sub("rootfs")
        try BusyboxRootfs.make(at: root)
        #expect(throws: UserResolverError.unknownUser("ghost")) { try UserResolver.resolve("ghost", rootfs: root) }
        #expect(throws: UserResolverError.unknownGroup("nogrp")) { try UserResolver.resolve("app:nogrp", rootfs: root) }
        #expect(UserResolverError.unknownUser("ghost").description
                == "unable to find user ghost: no matching entries in passwd file")
        // No passwd at all: numeric ids still work, names do not.
        let empty = try scratch.sub("empty")
        #expect(try UserResolver.resolve("12:34", rootfs: empty) == (12, 34, []))
        #expect(throws: UserResolverError.unknownUser("app")) { try UserResolver.resolve("app", rootfs: empty) }
    }

    @Test func symlinksResolveInsideTheRootfs() throws {
        let scratch = try sandboxScratch()
        let root = try scratch.sub("rootfs")
        try BusyboxRootfs.make(at: root)
        // A host passwd file the image tries to reach through absolute and relative symbolic links.
        let host = scratch.path + "/host-passwd"
        try BusyboxRootfs.write(host, Array("evil:x:4242:4242::/:/bin/sh\n".utf8))
        unlink(root + "/etc/passwd")
        #expect(symlink(host, root + "/etc/passwd") == 0)
        #expect(throws: UserResolverError.unknownUser("evil")) { try UserResolver.resolve("evil", rootfs: root) }
        unlink(root + "/etc/passwd")
        #expect(symlink("../../../../../../../../" + host, root + "/etc/passwd") == 0)
        #expect(throws: UserResolverError.unknownUser("evil")) { try UserResolver.resolve("evil", rootfs: root) }
        // A link that stays inside the rootfs is followed.
        try BusyboxRootfs.write(root + "/etc/passwd.real", Array("inside:x:77:88::/:/bin/sh\n".utf8))
        unlink(root + "/etc/passwd")
        #expect(symlink("/etc/passwd.real", root + "/etc/passwd") == 0)
        #expect(try UserResolver.resolve("inside", rootfs: root) == (77, 88, []))
    }

    @Test func layersTopFirstWithWhiteoutsAndOpaqueDirectories() throws {
        let scratch = try sandboxScratch()
        let base = try scratch.sub("base")
        try BusyboxRootfs.make(at: base)
        let top = try scratch.sub("top")
        _ = try scratch.sub("top/etc")
        try BusyboxRootfs.write(top + "/etc/passwd", Array("app:x:3000:3000::/:/bin/sh\n".utf8))
        // passwd from the top layer, group from the base one.
        #expect(try UserResolver.resolve("app", layers: [top, base]) == (3000, 3000, [1000, 2000]))
        // A whiteout of /etc/group hides the base's.
        #expect(mknod(top + "/etc/group", S_IFCHR | 0o600, 0) == 0)
        #expect(try UserResolver.resolve("app", layers: [top, base]) == (3000, 3000, []))
        // An opaque /etc without passwd hides the base's passwd.
        let opaque = try scratch.sub("opaque")
        _ = try scratch.sub("opaque/etc")
        #expect(setxattr(opaque + "/etc", "trusted.overlay.opaque", "y", 1, 0) == 0)
        #expect(throws: UserResolverError.unknownUser("nobody")) {
            try UserResolver.resolve("nobody", layers: [opaque, base])
        }
        #expect(try UserResolver.resolve("nobody", layers: [base]) == (65534, 65534, []))
    }

}
