import CSys
#if canImport(Glibc)
import Glibc
#endif

/// Resolves `USER` values as BuildKit does: `uid` and `uid:gid` (all numeric) are taken as they are, without
/// reading any file (the gid defaults to 0, no supplementary groups); otherwise the user is looked up in the image's
/// /etc/passwd (by name, or by uid for a numeric user with a named group); `name:group` takes the group's gid (a
/// numeric group need not exist) and no supplementary groups; a plain name takes the passwd gid and, as
/// supplementary groups, every group of /etc/group that lists the user, in file order.
/// The files are read inside `rootfs`: symbolic links resolve within it, never out of it.
public enum UserResolver {
    public static func resolve(_ user: String, rootfs: String) throws(UserResolverError)
        -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        try resolve(user) { path throws(UserResolverError) in try RootfsFile.read(rootfs: rootfs, path: path) }
    }

    /// The same from unpacked layers in overlay lower form (top first), without a mounted rootfs.
    public static func resolve(_ user: String, layers: [String]) throws(UserResolverError)
        -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        try resolve(user) { path throws(UserResolverError) in try RootfsFile.read(layers: layers, path: path) }
    }

    private static func resolve(_ user: String, reading read: (String) throws(UserResolverError) -> [UInt8]?)
        throws(UserResolverError) -> (uid: UInt32, gid: UInt32, groups: [UInt32]) {
        if user.isEmpty { return (0, 0, []) }
        let (userPart, groupPart) = split(user)
        if let uid = numeric(userPart), groupPart.map({ numeric($0) != nil }) ?? true {
            return (uid, groupPart.flatMap(numeric) ?? 0, [])
        }
        if userPart.isEmpty { throw .invalidID(user) }

        let passwd = try read("etc/passwd").map(parse) ?? []
        var uid: UInt32
        var gid: UInt32 = 0
        var matchedName: String?
        if let number = numeric(userPart) {
            uid = number
            if let entry = passwd.first(where: { $0.count >= 4 && numeric($0[2]) == number }) {
                matchedName = entry[0]
                gid = numeric(entry[3]) ?? 0
            }
        } else {
            guard let entry = passwd.first(where: { $0.count >= 4 && $0[0] == userPart }),
                  let entryUID = numeric(entry[2]) else { throw .unknownUser(userPart) }
            uid = entryUID
            gid = numeric(entry[3]) ?? 0
            matchedName = entry[0]
        }

        guard groupPart != nil || matchedName != nil else { return (uid, gid, []) }
        let groupFile = try read("etc/group").map(parse) ?? []
        let groups = groupFile.filter { $0.count >= 3 && numeric($0[2]) != nil }
        if let groupPart {
            if let number = numeric(groupPart) {
                return (uid, number, [])
            }
            guard let group = groups.first(where: { $0[0] == groupPart }), let groupID = numeric(group[2]) else {
                throw .unknownGroup(groupPart)
            }
            return (uid, groupID, [])
        }
        var supplementary: [UInt32] = []
        for group in groups where group.count >= 4 {
            let members = group[3].split(separator: ",").map { $0.trimmingSpaces }
            if let name = matchedName, members.contains(name), let groupID = numeric(group[2]) {
                supplementary.append(groupID)
            }
        }
        return (uid, gid, supplementary)
    }

    /// The owner `COPY --chown` / `ADD --chown` gives, by BuildKit's rules for copies, which differ from USER's:
    /// a numeric user alone is both uid and gid (`--chown=1000` is 1000:1000); a name takes its passwd uid and
    /// gid; a group, numeric or named, then replaces the gid. As in BuildKit, a name that the image's files do
    /// not list (or an image without those files) leaves that part at 0 rather than failing.
    public static func owner(forChown chown: String, rootfs: String) throws(UserResolverError) -> (uid: UInt32, gid: UInt32) {
        try owner(forChown: chown) { path throws(UserResolverError) in try RootfsFile.read(rootfs: rootfs, path: path) }
    }

    /// The same from unpacked layers in overlay lower form (top first), without a mounted rootfs.
    public static func owner(forChown chown: String, layers: [String]) throws(UserResolverError) -> (uid: UInt32, gid: UInt32) {
        try owner(forChown: chown) { path throws(UserResolverError) in try RootfsFile.read(layers: layers, path: path) }
    }

    private static func owner(forChown chown: String, reading file: (String) throws(UserResolverError) -> [UInt8]?)
        throws(UserResolverError) -> (uid: UInt32, gid: UInt32) {
        func read(_ path: String) throws(UserResolverError) -> [[String]] { try file(path).map(parse) ?? [] }
        let (userPart, groupPart) = split(chown)
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        if let number = numeric(userPart) {
            uid = number
            gid = number
        } else if !userPart.isEmpty {
            if let entry = try read("etc/passwd").first(where: { $0.count >= 4 && $0[0] == userPart }) {
                uid = numeric(entry[2]) ?? 0
                gid = numeric(entry[3]) ?? 0
            }
        }
        if let groupPart {
            if let number = numeric(groupPart) {
                gid = number
            } else if let entry = try read("etc/group").first(where: { $0.count >= 3 && $0[0] == groupPart }) {
                gid = numeric(entry[2]) ?? 0
            }
        }
        return (uid, gid)
    }

    /// The home directory /etc/passwd gives `uid` (read from unpacked layers, top first); "/" when none does.
    public static func home(uid: UInt32, layers: [String]) throws(UserResolverError) -> String {
        let passwd = try RootfsFile.read(layers: layers, path: "etc/passwd").map(parse) ?? []
        guard let entry = passwd.first(where: { $0.count >= 6 && numeric($0[2]) == uid }), !entry[5].isEmpty else {
            return "/"
        }
        return entry[5]
    }

    private static func split(_ user: String) -> (String, String?) {
        guard let colon = user.firstIndex(of: ":") else { return (user, nil) }
        return (String(user[..<colon]), String(user[user.index(after: colon)...]))
    }

    private static func numeric(_ text: String) -> UInt32? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt32(text)
    }

    /// colon-separated records, one a line; blank lines and `#` comments skipped.
    private static func parse(_ bytes: [UInt8]) -> [[String]] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let text = String(decoding: line, as: UTF8.self).trimmingSpaces
            if text.isEmpty || text.hasPrefix("#") { return nil }
            return text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
