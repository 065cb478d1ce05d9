import CSys
#if canImport(Glibc)
import Glibc
#endif

/// One extraction: owns the root descriptor and the data buffer, and remembers what this layer created
/// (whiteouts apply only to lower content) and which directories get their mode and times at the end.
final class ExtractionSession {
    private let root: OwnedDescriptor
    private let options: LayerExtractor.Options
    private let buffer: UnsafeMutableRawBufferPointer
    private var report = ExtractionReport()
    /// Paths (joined with `/`) of entries this layer created or touched.
    private var present: Set<[UInt8]> = []
    /// Directories whose mode and times are set last, because adding children changes them.
    private var deferredDirectories: [(components: [[UInt8]], permissions: UInt32, times: [timespec]?)] = []
    private var openat2Available: Bool
    /// The entry being extracted, for error messages.
    private var currentEntry = "<archive start>"

    init(rootDirectory: String, options: LayerExtractor.Options) throws(LayerExtractionError) {
        let fd = open(rootDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LayerExtractionError(entry: "<root \(rootDirectory)>", reason: .system(call: "open", errno: errno))
        }
        root = OwnedDescriptor(fd)
        self.options = options
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: options.bufferSize, alignment: 64)
        openat2Available = options.useOpenat2
    }

    deinit { buffer.deallocate() }

    private func fail(_ reason: LayerExtractionError.Reason) -> LayerExtractionError {
        LayerExtractionError(entry: currentEntry, reason: reason)
    }

    private func sysFail(_ call: String, _ code: Int32 = errno) -> LayerExtractionError {
        fail(.system(call: call, errno: code))
    }

    func run(_ reader: ArchiveReader) throws(LayerExtractionError) -> ExtractionReport {
        while true {
            let header: ArchiveEntryHeader
            do {
                guard let h = try reader.nextEntry() else { break }
                header = h
            } catch {
                throw LayerExtractionError(entry: "<header after \(currentEntry)>", reason: .archive(error))
            }
            currentEntry = header.displayPath
            report.entries += 1
            try extract(header, reader)
        }
        report.compression = reader.detectedCompression
        report.warnings.append(contentsOf: reader.warnings)
        try finishDirectories()
        return report
    }

    // MARK: - Paths

    /// Splits an entry path into components, refusing `..`, absolute paths and oversize paths.
    /// `./` prefixes, empty components and `.` components are dropped.
    private func components(of path: [UInt8], isLink: Bool = false) throws(LayerExtractionError) -> [[UInt8]] {
        if path.count > options.maxPathBytes {
            throw fail(.pathTooLong(bytes: path.count, limit: options.maxPathBytes))
        }
        if path.first == UInt8(ascii: "/") {
            throw fail(isLink ? .hardlinkTargetOutsideRoot(target: PathBytes.text(path)) : .absolutePath)
        }
        var result: [[UInt8]] = []
        for part in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if part.count == 1 && part.first == UInt8(ascii: ".") { continue }
            if part.count == 2 && part.allSatisfy({ $0 == UInt8(ascii: ".") }) {
                throw fail(isLink ? .hardlinkTargetOutsideRoot(target: PathBytes.text(path)) : .parentTraversal)
            }
            result.append(Array(part))
            if result.count > options.maxPathDepth {
                let depth = path.split(separator: UInt8(ascii: "/")).count
                throw fail(.pathTooDeep(depth: depth, limit: options.maxPathDepth))
            }
        }
        return result
    }

    private static func joined(_ components: some Collection<[UInt8]>) -> [UInt8] {
        var out: [UInt8] = []
        for (i, c) in components.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: c)
        }
        return out
    }

    /// Opens the directory `components` names, never following a symlink. Missing directories are created
    /// (mode 0755) when `create` is true, else nil is returned.
    private func openDirectory(_ components: ArraySlice<[UInt8]>, create: Bool,
                               linkTarget: [UInt8]? = nil) throws(LayerExtractionError) -> OwnedDescriptor? {
        if components.isEmpty {
            let fd = dup(root.raw)
            guard fd >= 0 else { throw sysFail("dup") }
            return OwnedDescriptor(fd)
        }
        if openat2Available, let fd = fastOpen(components) { return OwnedDescriptor(fd) }

        var current = OwnedDescriptor(dup(root.raw))
        guard current.raw >= 0 else { throw sysFail("dup") }
        var index = components.startIndex
        while index < components.endIndex {
            let name = PathBytes.cString(components[index])
            var fd = openat(current.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT {
                guard create else { return nil }
                if mkdirat(current.raw, name, 0o755) != 0 && errno != EEXIST { throw sysFail("mkdirat") }
                fd = openat(current.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0 {
                    _ = fchmod(fd, 0o755)
                    present.insert(Self.joined(components[components.startIndex...index]))
                }
            }
            if fd < 0 {
                let code = errno
                let prefix = PathBytes.text(Self.joined(components[components.startIndex...index]))
                if code == ELOOP || code == ENOTDIR {
                    var st = stat()
                    let isLink = fstatat(current.raw, name, &st, AT_SYMLINK_NOFOLLOW) == 0
                        && (st.st_mode & Glibc.S_IFMT) == Glibc.S_IFLNK
                    if let linkTarget { throw fail(.hardlinkTargetOutsideRoot(target: PathBytes.text(linkTarget))) }
                    throw fail(isLink ? .symlinkInPath(component: prefix) : .notADirectoryInPath(component: prefix))
                }
                throw sysFail("openat(\(prefix))", code)
            }
            current = OwnedDescriptor(fd)
            index += 1
        }
        return current
    }

    /// One `openat2` call resolving the whole directory path beneath the root with no symlinks.
    /// Returns nil when anything is unusual; the component walk then creates what is missing or names the problem.
    private func fastOpen(_ components: ArraySlice<[UInt8]>) -> Int32? {
        var how = open_how()
        how.flags = UInt64(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        how.resolve = UInt64(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
        let path = PathBytes.cString(Self.joined(components))
        let fd = swiftbuild_openat2(root.raw, path, &how, MemoryLayout<open_how>.size)
        if fd >= 0 { return Int32(truncatingIfNeeded: fd) }
        let code = errno
        if code == ENOSYS || code == EPERM || code == EINVAL || code == E2BIG { openat2Available = false }
        return nil
    }

    // MARK: - Entries

    private func extract(_ header: ArchiveEntryHeader, _ reader: ArchiveReader) throws(LayerExtractionError) {
        let parts = try components(of: header.path)
        guard let name = parts.last else {
            // `./` names the root itself: its metadata belongs to whoever made the root, not to the layer.
            if header.type == .directory { return }
            throw fail(.emptyPath)
        }
        let parentParts = parts.dropLast()

        if options.applyWhiteouts, name.starts(with: Array(".wh.".utf8)) {
            try applyWhiteout(name: name, parent: parentParts)
            return
        }

        if case .hardlink = header.type {
            try makeHardlink(header, parts: parts)
            return
        }

        // Refuse or skip before anything on disk is touched.
        switch header.type {
        case .characterDevice, .blockDevice:
            guard options.allowDevices else { throw fail(.deviceNotAllowed) }
        case .socket:
            report.warnings.append("\(currentEntry): sockets cannot be extracted; skipped")
            return
        case .other(let mode):
            throw fail(.unsupportedEntryType(mode: mode))
        case .regular, .directory, .symlink, .hardlink, .fifo:
            break
        }

        guard let parent = try openDirectory(parentParts, create: true) else { throw fail(.emptyPath) }
        let cName = PathBytes.cString(name)
        present.insert(Self.joined(parts))

        // What is already there: a directory stays (and is merged into) when the entry is a directory too;
        // anything else is replaced.
        var existing = stat()
        let exists = fstatat(parent.raw, cName, &existing, AT_SYMLINK_NOFOLLOW) == 0
        let existingIsDirectory = exists && (existing.st_mode & Glibc.S_IFMT) == Glibc.S_IFDIR
        if exists && !(header.type == .directory && existingIsDirectory) {
            try removeTree(parent: parent.raw, name: cName, isDirectory: existingIsDirectory)
        }

        switch header.type {
        case .regular:
            try writeRegular(header, reader, parent: parent.raw, name: cName)
            report.regularFiles += 1
        case .directory:
            if !existingIsDirectory {
                guard mkdirat(parent.raw, cName, 0o700) == 0 else { throw sysFail("mkdirat") }
            }
            let fd = openat(parent.raw, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw sysFail("openat") }
            let dir = OwnedDescriptor(fd)
            try setOwner(fd: dir.raw, header)
            setXattrs(fd: dir.raw, header)
            deferredDirectories.append((parts, header.permissions, times(header)))
            report.directories += 1
        case .symlink:
            let target = PathBytes.cString(header.linkTarget ?? [])
            guard symlinkat(target, parent.raw, cName) == 0 else { throw sysFail("symlinkat") }
            if options.preserveOwners, fchownat(parent.raw, cName, ownerID(header.uid), ownerID(header.gid),
                                                AT_SYMLINK_NOFOLLOW) != 0 {
                throw sysFail("fchownat")
            }
            if options.preserveXattrs, !header.xattrs.isEmpty {
                let fd = openat(parent.raw, cName, SWIFTBUILD_O_PATH | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw sysFail("openat(O_PATH)") }
                let link = OwnedDescriptor(fd)
                setXattrs(pathDescriptor: link.raw, header)
            }
            if var t = times(header), utimensat(parent.raw, cName, &t, AT_SYMLINK_NOFOLLOW) != 0 {
                throw sysFail("utimensat")
            }
            report.symlinks += 1
        case .characterDevice, .blockDevice, .fifo:
            let kind: mode_t
            if header.type == .fifo {
                kind = Glibc.S_IFIFO
            } else {
                kind = header.type == .characterDevice ? Glibc.S_IFCHR : Glibc.S_IFBLK
            }
            let device = header.type == .fifo ? 0 : swiftbuild_makedev(header.deviceMajor, header.deviceMinor)
            guard mknodat(parent.raw, cName, kind | 0o600, device) == 0 else { throw sysFail("mknodat") }
            // Opening a FIFO or device for I/O could block or act; O_PATH only names the new inode.
            let fd = openat(parent.raw, cName, SWIFTBUILD_O_PATH | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw sysFail("openat(O_PATH)") }
            let node = OwnedDescriptor(fd)
            let procPath = "/proc/self/fd/\(node.raw)"
            if options.preserveOwners, fchownat(node.raw, "", ownerID(header.uid), ownerID(header.gid),
                                                SWIFTBUILD_AT_EMPTY_PATH) != 0 {
                throw sysFail("fchownat")
            }
            // chmod through the descriptor's /proc link reaches exactly this inode.
            guard chmod(procPath, mode_t(header.permissions)) == 0 else { throw sysFail("chmod") }
            setXattrs(pathDescriptor: node.raw, header)
            if var t = times(header), utimensat(parent.raw, cName, &t, AT_SYMLINK_NOFOLLOW) != 0 {
                throw sysFail("utimensat")
            }
            if header.type == .fifo { report.fifos += 1 } else { report.devices += 1 }
        case .socket, .hardlink, .other:
            break  // handled above
        }
    }

    private func ownerID(_ id: Int64) -> UInt32 {
        id >= 0 && id <= Int64(UInt32.max - 1) ? UInt32(id) : 0
    }

    private func times(_ header: ArchiveEntryHeader) -> [timespec]? {
        guard let m = header.mtime else { return nil }
        let mtime = timespec(tv_sec: Int(truncatingIfNeeded: m.seconds), tv_nsec: Int(truncatingIfNeeded: m.nanoseconds))
        var atime = mtime
        if let a = header.atime {
            atime = timespec(tv_sec: Int(truncatingIfNeeded: a.seconds), tv_nsec: Int(truncatingIfNeeded: a.nanoseconds))
        }
        return [atime, mtime]
    }

    private func setOwner(fd: Int32, _ header: ArchiveEntryHeader) throws(LayerExtractionError) {
        guard options.preserveOwners else { return }
        guard fchown(fd, ownerID(header.uid), ownerID(header.gid)) == 0 else { throw sysFail("fchown") }
    }

    /// Sets the entry's extended attributes on an open file or directory.
    private func setXattrs(fd: Int32, _ header: ArchiveEntryHeader) {
        setXattrs(header) { name, value in fsetxattr(fd, name, value.baseAddress, value.count, 0) }
    }

    /// Sets them on a node open with `O_PATH` (symlink, device, FIFO), which `fsetxattr` does not accept:
    /// `/proc/self/fd/N` names exactly that inode, and `lsetxattr` would act on the /proc link itself.
    private func setXattrs(pathDescriptor fd: Int32, _ header: ArchiveEntryHeader) {
        let procPath = "/proc/self/fd/\(fd)"
        setXattrs(header) { name, value in setxattr(procPath, name, value.baseAddress, value.count, 0) }
    }

    /// `trusted.overlay.*` and `user.overlay.*` are refused: those attributes steer overlayfs (opaque dirs, redirects) when the
    /// extracted tree is later used as an overlay layer, so a layer must not be able to set them.
    private func setXattrs(_ header: ArchiveEntryHeader, _ set: ([CChar], UnsafeRawBufferPointer) -> Int32) {
        guard options.preserveXattrs else { return }
        for (name, value) in header.xattrs {
            if OverlayAttributes.isOverlay(name) {
                report.warnings.append("\(currentEntry): extended attribute \(PathBytes.text(name)) refused")
                continue
            }
            let cName = PathBytes.cString(name)
            let status = value.withUnsafeBytes { set(cName, $0) }
            if status != 0 {
                let code = errno
                report.warnings.append(
                    "\(currentEntry): extended attribute \(PathBytes.text(name)) not set: \(String(cString: strerror(code)))")
            }
        }
    }

    private func writeRegular(_ header: ArchiveEntryHeader, _ reader: ArchiveReader, parent: Int32,
                              name: [CChar]) throws(LayerExtractionError) {
        let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw sysFail("openat") }
        let file = OwnedDescriptor(fd)
        var total: Int64 = 0
        while true {
            let n: Int
            do { n = try reader.readData(into: buffer) } catch { throw fail(.archive(error)) }
            if n == 0 { break }
            var offset = 0
            while offset < n {
                let w = write(file.raw, buffer.baseAddress.map { $0 + offset }, n - offset)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw sysFail("write")
                }
                offset += w
            }
            total += Int64(n)
        }
        if total != header.size { throw fail(.truncatedData(declared: header.size, read: total)) }
        report.bytesWritten += total
        try setOwner(fd: file.raw, header)
        // After chown, which clears setuid and setgid.
        guard fchmod(file.raw, mode_t(header.permissions)) == 0 else { throw sysFail("fchmod") }
        setXattrs(fd: file.raw, header)
        if var t = times(header), futimens(file.raw, &t) != 0 { throw sysFail("futimens") }
    }

    private func makeHardlink(_ header: ArchiveEntryHeader, parts: [[UInt8]]) throws(LayerExtractionError) {
        let rawTarget = header.linkTarget ?? []
        let targetParts = try components(of: rawTarget, isLink: true)
        guard let targetName = targetParts.last else {
            throw fail(.hardlinkTargetOutsideRoot(target: PathBytes.text(rawTarget)))
        }
        guard let targetParent = try openDirectory(targetParts.dropLast(), create: false, linkTarget: rawTarget) else {
            throw fail(.hardlinkTargetMissing(target: PathBytes.text(rawTarget)))
        }
        let cTarget = PathBytes.cString(targetName)
        var st = stat()
        guard fstatat(targetParent.raw, cTarget, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw fail(.hardlinkTargetMissing(target: PathBytes.text(rawTarget)))
        }
        if (st.st_mode & Glibc.S_IFMT) == Glibc.S_IFDIR {
            throw fail(.hardlinkToDirectory(target: PathBytes.text(rawTarget)))
        }
        guard let name = parts.last,
              let parent = try openDirectory(parts.dropLast(), create: true) else { throw fail(.emptyPath) }
        let cName = PathBytes.cString(name)
        if targetParts == parts { return }  // a link to itself: nothing to do
        var existing = stat()
        if fstatat(parent.raw, cName, &existing, AT_SYMLINK_NOFOLLOW) == 0 {
            try removeTree(parent: parent.raw, name: cName,
                           isDirectory: (existing.st_mode & Glibc.S_IFMT) == Glibc.S_IFDIR)
        }
        // Flags 0: never follow the target if it is a symlink; the new name links to the symlink itself.
        guard linkat(targetParent.raw, cTarget, parent.raw, cName, 0) == 0 else { throw sysFail("linkat") }
        present.insert(Self.joined(parts))
        report.hardlinks += 1
    }

    // MARK: - Whiteouts

    private func applyWhiteout(name: [UInt8], parent parentParts: ArraySlice<[UInt8]>) throws(LayerExtractionError) {
        let opaque = Array(".wh..wh..opq".utf8)
        let parentPath = Self.joined(parentParts)
        if name == opaque && options.overlayWhiteouts {
            report.opaqueDirectories += 1
            guard let dir = try openDirectory(parentParts, create: true) else { return }
            let value: [UInt8] = [UInt8(ascii: "y")]
            let status = value.withUnsafeBytes { fsetxattr(dir.raw, OverlayAttributes.opaque, $0.baseAddress, 1, 0) }
            guard status == 0 else { throw sysFail("fsetxattr(\(OverlayAttributes.opaque))") }
            return
        }
        if name == opaque {
            report.opaqueDirectories += 1
            guard let dir = try openDirectory(parentParts, create: false) else { return }
            // Remove every child that this layer did not put there.
            for child in try listDirectory(dir.raw) {
                var childPath = parentPath
                if !childPath.isEmpty { childPath.append(UInt8(ascii: "/")) }
                childPath.append(contentsOf: child)
                if present.contains(childPath) { continue }
                try removeTree(parent: dir.raw, name: PathBytes.cString(child), isDirectory: nil)
            }
            return
        }
        if name.starts(with: Array(".wh..wh.".utf8)) {
            // Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): never part of the image.
            report.warnings.append("\(currentEntry): AUFS metadata entry skipped")
            return
        }
        let target = Array(name.dropFirst(4))
        if target.isEmpty || target == [UInt8(ascii: ".")] || target == [UInt8(ascii: "."), UInt8(ascii: ".")] {
            throw fail(.invalidWhiteout)
        }
        report.whiteouts += 1
        var targetPath = parentPath
        if !targetPath.isEmpty { targetPath.append(UInt8(ascii: "/")) }
        targetPath.append(contentsOf: target)
        // A whiteout hides lower content only, never what this layer itself created.
        if present.contains(targetPath) { return }
        if options.overlayWhiteouts {
            // This directory holds one layer alone: mark the name deleted with overlayfs's 0/0 device.
            guard let dir = try openDirectory(parentParts, create: true) else { return }
            let cTarget = PathBytes.cString(target)
            var existing = stat()
            if fstatat(dir.raw, cTarget, &existing, AT_SYMLINK_NOFOLLOW) == 0 {
                try removeTree(parent: dir.raw, name: cTarget,
                               isDirectory: (existing.st_mode & Glibc.S_IFMT) == Glibc.S_IFDIR)
            }
            guard mknodat(dir.raw, cTarget, Glibc.S_IFCHR, swiftbuild_makedev(0, 0)) == 0 else {
                throw sysFail("mknodat(whiteout)")
            }
            return
        }
        let parent: OwnedDescriptor?
        do {
            parent = try openDirectory(parentParts, create: false)
        } catch let error where error.reason.isNotADirectory {
            return  // a path under a file cannot exist: nothing to hide
        }
        guard let dir = parent else { return }
        try removeTree(parent: dir.raw, name: PathBytes.cString(target), isDirectory: nil)
    }

    private func listDirectory(_ fd: Int32) throws(LayerExtractionError) -> [[UInt8]] {
        let copy = dup(fd)
        guard copy >= 0 else { throw sysFail("dup") }
        guard let stream = fdopendir(copy) else {
            let code = errno
            _ = close(copy)
            throw sysFail("fdopendir", code)
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while let entry = readdir(stream) {
            let name = Self.direntName(entry)
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names
    }

    private static func direntName(_ entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        withUnsafePointer(to: &entry.pointee.d_name) { tuple in
            tuple.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) { p in
                let n = strnlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self),
                                MemoryLayout.size(ofValue: tuple.pointee))
                return Array(UnsafeBufferPointer(start: p, count: n))
            }
        }
    }

    /// Removes `name` in `parent` and, if it is a directory, everything below it, never following symlinks.
    /// Iterative, so a deep tree cannot exhaust the stack. A missing name is not an error.
    private func removeTree(parent: Int32, name: [CChar], isDirectory: Bool?) throws(LayerExtractionError) {
        if isDirectory != true {
            if unlinkat(parent, name, 0) == 0 || errno == ENOENT { return }
            if errno != EISDIR && errno != EPERM { throw sysFail("unlinkat") }
        }
        // A directory: empty it depth first, with an explicit stack of open directories.
        var stack: [(stream: OpaquePointer, name: [CChar])] = []
        func push(_ dirFD: Int32, _ child: [CChar]) throws(LayerExtractionError) {
            let fd = openat(dirFD, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw sysFail("openat") }
            guard let stream = fdopendir(fd) else {
                let code = errno
                _ = close(fd)
                throw sysFail("fdopendir", code)
            }
            stack.append((stream, child))
        }
        defer { for item in stack { closedir(item.stream) } }
        try push(parent, name)
        while let top = stack.last {
            let topFD = dirfd(top.stream)
            guard let entry = readdir(top.stream) else {
                stack.removeLast()
                closedir(top.stream)
                let outer = stack.last.map { dirfd($0.stream) } ?? parent
                if unlinkat(outer, top.name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw sysFail("unlinkat") }
                continue
            }
            let childBytes = Self.direntName(entry)
            if childBytes == [UInt8(ascii: ".")] || childBytes == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            let child = PathBytes.cString(childBytes)
            if unlinkat(topFD, child, 0) == 0 || errno == ENOENT { continue }
            if errno == EISDIR || errno == EPERM {
                try push(topFD, child)
                continue
            }
            throw sysFail("unlinkat")
        }
    }

    // MARK: - Directory metadata, last

    private func finishDirectories() throws(LayerExtractionError) {
        for item in deferredDirectories.reversed() {
            currentEntry = PathBytes.text(Self.joined(item.components))
            // The directory may have been replaced or whited out later in the layer: then skip it.
            let dir: OwnedDescriptor
            do {
                guard let d = try openDirectory(item.components[...], create: false) else { continue }
                dir = d
            } catch {
                continue
            }
            guard fchmod(dir.raw, mode_t(item.permissions)) == 0 else { throw sysFail("fchmod") }
            if var t = item.times, futimens(dir.raw, &t) != 0 { throw sysFail("futimens") }
        }
    }
}

extension LayerExtractionError.Reason {
    fileprivate var isNotADirectory: Bool {
        if case .notADirectoryInPath = self { return true }
        return false
    }
}
