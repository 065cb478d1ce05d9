import Foundation
import SwiftBuildDockerfile
#if canImport(Glibc)
import Glibc
#endif

/// How a RUN step runs the binaries of another architecture: the kernel's binfmt_misc hands them to a
/// qemu-user-static interpreter. The interpreter must be registered with the fix-binary (F) flag, so that the
/// kernel opened it when it was registered and a RUN inside the step's root file system (which has no qemu)
/// still finds it. swiftbuild uses a handler that is registered so, registers Debian's `qemu-user-static`
/// itself where it may (root), and otherwise fails with what to install or enable: it never starts a step of
/// a foreign platform without one.
public enum Emulation {
    /// What the kernel's binfmt_misc answers for one architecture.
    public enum Handler: Sendable, Equatable {
        /// The host runs the platform's binaries itself.
        case native
        /// A registered handler runs them: its binfmt_misc entry name and interpreter.
        case emulated(entry: String, interpreter: String)
        /// swiftbuild registered this handler just now; it stays registered (system-wide) until the machine
        /// restarts or it is removed with `echo -1 > /proc/sys/fs/binfmt_misc/ENTRY`.
        case registered(entry: String, interpreter: String)
    }

    /// An ELF machine as binfmt_misc matches it: the name qemu gives the architecture (`aarch64`), 64-bit or
    /// not, little-endian or not, and `e_machine`.
    struct Machine: Equatable {
        var qemu: String
        var wide: Bool
        var little: Bool
        var machine: UInt16

        /// The first 20 bytes of an ELF executable (`e_type` 2) or position-independent one (3) for it.
        func header(type: UInt8) -> [UInt8] {
            var bytes: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, wide ? 2 : 1, little ? 1 : 2, 1, 0]
            bytes += [UInt8](repeating: 0, count: 8)
            let m = little ? [UInt8(machine & 0xFF), UInt8(machine >> 8)] : [UInt8(machine >> 8), UInt8(machine & 0xFF)]
            bytes += little ? [type, 0] : [0, type]
            bytes += m
            return bytes
        }

        /// What swiftbuild registers: the header with the OS ABI byte ignored and `e_type` 2 or 3.
        var magic: [UInt8] { header(type: 2) }
        var mask: [UInt8] {
            var mask = [UInt8](repeating: 0xFF, count: 20)
            mask[7] = 0
            mask[little ? 16 : 17] = 0xFE
            return mask
        }
    }

    /// The ELF machine of a Linux platform's binaries, nil for one swiftbuild does not know.
    static func machine(_ platform: BuildPlatform) -> Machine? {
        switch platform.architecture {
        case "amd64": return Machine(qemu: "x86_64", wide: true, little: true, machine: 62)
        case "386": return Machine(qemu: "i386", wide: false, little: true, machine: 3)
        case "arm64": return Machine(qemu: "aarch64", wide: true, little: true, machine: 183)
        case "arm": return Machine(qemu: "arm", wide: false, little: true, machine: 40)
        case "ppc64le": return Machine(qemu: "ppc64le", wide: true, little: true, machine: 21)
        case "s390x": return Machine(qemu: "s390x", wide: true, little: false, machine: 22)
        case "riscv64": return Machine(qemu: "riscv64", wide: true, little: true, machine: 243)
        case "mips64le": return Machine(qemu: "mips64el", wide: true, little: true, machine: 8)
        case "loong64": return Machine(qemu: "loongarch64", wide: true, little: true, machine: 258)
        default: return nil
        }
    }

    /// Whether the host runs `platform`'s binaries without emulation: the same architecture, or 32-bit x86 on
    /// x86-64 (which the kernel runs itself).
    public static func isNative(_ platform: BuildPlatform, host: BuildPlatform) -> Bool {
        platform.architecture == host.architecture || (host.architecture == "amd64" && platform.architecture == "386")
    }

    public static let directory = "/proc/sys/fs/binfmt_misc"

    /// The handler for `platform`'s binaries on this machine, registering qemu-user-static's when none with
    /// the F flag is registered and this process may register one. Throws a `BuildError` that says what to
    /// install or enable when there is none.
    public static func prepare(_ platform: BuildPlatform, host: BuildPlatform,
                               directory: String = Emulation.directory,
                               interpreters: [String]? = nil) throws -> Handler {
        guard platform.os == "linux" else {
            throw BuildError("RUN for \(platform) is not possible: only linux platforms run on this machine")
        }
        if isNative(platform, host: host) { return .native }
        guard let machine = machine(platform) else {
            throw BuildError("RUN for \(platform) needs emulation, and swiftbuild knows no emulator for the "
                             + "architecture \(platform.architecture)")
        }
        let install = "install Debian's qemu-user-static (apt-get install qemu-user-static)"
        if access(directory + "/register", F_OK) != 0 {
            // binfmt_misc not mounted: root may mount it (as systemd does at boot).
            if mount("binfmt_misc", directory, "binfmt_misc", 0, nil) != 0 {
                let why = String(cString: strerror(errno))
                throw BuildError("RUN for \(platform) needs emulation of \(machine.qemu) binaries, and binfmt_misc is not "
                                 + "mounted at \(directory) (mounting it: \(why)): as root, run "
                                 + "`mount -t binfmt_misc binfmt_misc \(directory)` and \(install)")
            }
        }
        var withoutFix: String?
        for entry in entries(directory) where entry.enabled && entry.matches(machine) {
            if entry.flags.contains("F") { return .emulated(entry: entry.name, interpreter: entry.interpreter) }
            withoutFix = withoutFix ?? entry.name
        }
        // None usable: register qemu-user-static's interpreter, with F (newer entries are tried first, so
        // this one wins over an entry without F).
        let candidates = interpreters ?? [
            "/usr/libexec/qemu-binfmt/\(machine.qemu)-binfmt-P", "/usr/bin/qemu-\(machine.qemu)-static",
            "/usr/local/bin/qemu-\(machine.qemu)-static",
        ]
        guard let interpreter = candidates.first(where: { access($0, X_OK) == 0 }) else {
            let found = withoutFix.map { "the binfmt_misc entry \($0) has no F (fix-binary) flag, so it cannot run inside a build's root file system, and " } ?? "no binfmt_misc handler is registered for them, and "
            throw BuildError("RUN for \(platform) needs emulation of \(machine.qemu) binaries: \(found)"
                             + "qemu-\(machine.qemu)-static was not found: \(install), or register a handler with the F flag "
                             + "(e.g. `docker run --privileged --rm tonistiigi/binfmt --install \(platform.architecture)`)")
        }
        // Debian's `-binfmt-P` links tell qemu that the kernel preserves argv[0] (the P flag).
        let flags = interpreter.hasSuffix("-binfmt-P") ? "PF" : "F"
        let name = "swiftbuild-\(machine.qemu)"
        _ = try? KernelFile.write("-1", to: directory + "/" + name)  // a stale or disabled entry of ours
        let line = ":\(name):M:0:\(escaped(machine.magic)):\(escaped(machine.mask)):\(interpreter):\(flags)"
        do {
            try KernelFile.write(line, to: directory + "/register")
        } catch {
            throw BuildError("RUN for \(platform) needs emulation of \(machine.qemu) binaries, and no binfmt_misc "
                             + "handler with the F (fix-binary) flag is registered; registering \(interpreter) failed "
                             + "(\(error)): as root, run `echo '\(line)' > \(directory)/register`")
        }
        return .registered(entry: name, interpreter: interpreter)
    }

    /// One binfmt_misc entry, as its file in the binfmt_misc directory describes it.
    struct Entry {
        var name: String
        var enabled: Bool
        var interpreter: String
        var flags: String
        var offset: Int
        var magic: [UInt8]
        var mask: [UInt8]?

        /// Whether an ELF header of `machine` (executable or position-independent) reaches this entry.
        func matches(_ machine: Machine) -> Bool {
            [machine.header(type: 2), machine.header(type: 3)].contains { header in
                guard offset >= 0, offset + magic.count <= header.count, !magic.isEmpty else { return false }
                for i in magic.indices {
                    let byte = header[offset + i] & (mask.map { i < $0.count ? $0[i] : 0xFF } ?? 0xFF)
                    if byte != magic[i] { return false }
                }
                return true
            }
        }

        init?(name: String, text: String) {
            self.name = name
            enabled = text.hasPrefix("enabled")
            var interpreter = "", flags = "", offset = 0
            var magic: [UInt8]?, mask: [UInt8]?
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "interpreter": interpreter = parts[1]
                case "flags:": flags = parts[1]
                case "offset": offset = Int(parts[1]) ?? -1
                case "magic": magic = Self.hex(parts[1])
                case "mask": mask = Self.hex(parts[1])
                default: break
                }
            }
            guard let magic else { return nil }  // an extension (E) entry
            self.interpreter = interpreter
            self.flags = flags
            self.offset = offset
            self.magic = magic
            self.mask = mask
        }

        static func hex(_ text: String) -> [UInt8]? {
            let digits = Array(text.utf8)
            guard digits.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            for i in stride(from: 0, to: digits.count, by: 2) {
                guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
                out.append(byte)
            }
            return out
        }
    }

    static func entries(_ directory: String) -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            guard name != "register", name != "status",
                  let data = FileManager.default.contents(atPath: directory + "/" + name) else { return nil }
            return Entry(name: name, text: String(decoding: data, as: UTF8.self))
        }
    }

    static func escaped(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }.joined()
    }
}
