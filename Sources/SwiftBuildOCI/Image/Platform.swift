/// The platform an image runs on, as an index entry or a config gives it (`linux/amd64`, `linux/arm64/v8`).
public struct Platform: Hashable, Sendable, Codable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// Linux on the architecture this program was compiled for, with Go's architecture names.
    public static var host: Platform {
        #if arch(x86_64)
        return Platform(os: "linux", architecture: "amd64")
        #elseif arch(arm64)
        return Platform(os: "linux", architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        return Platform(os: "linux", architecture: "arm", variant: "v7")
        #elseif arch(i386)
        return Platform(os: "linux", architecture: "386")
        #elseif arch(s390x)
        return Platform(os: "linux", architecture: "s390x")
        #elseif arch(powerpc64le)
        return Platform(os: "linux", architecture: "ppc64le")
        #elseif arch(riscv64)
        return Platform(os: "linux", architecture: "riscv64")
        #else
        return Platform(os: "linux", architecture: "unknown")
        #endif
    }

    /// Whether an image for `self` runs on `wanted`: same OS and architecture, and the same variant when both
    /// name one (arm64's variant is optional: `arm64` and `arm64/v8` are the same platform).
    public func matches(_ wanted: Platform) -> Bool {
        guard os == wanted.os, architecture == wanted.architecture else { return false }
        let mine = normalizedVariant, theirs = wanted.normalizedVariant
        return mine == nil || theirs == nil || mine == theirs
    }

    /// How well an image for `self` suits `wanted`, as containerd's platform matcher ranks it: 0 for the same
    /// platform, more for a compatible older one (an `arm/v6` image on `arm/v7`: 1), nil when it does not run
    /// there.
    public func compatibility(with wanted: Platform) -> Int? {
        if matches(wanted) { return 0 }
        guard os == wanted.os, architecture == "arm", wanted.architecture == "arm",
              let mine = Self.armLevel(normalizedVariant), let theirs = Self.armLevel(wanted.normalizedVariant),
              mine <= theirs else { return nil }
        return theirs - mine
    }

    /// `v5` … `v8` as a number; a 32-bit arm platform without a variant is v7, as containerd normalizes it.
    private static func armLevel(_ variant: String?) -> Int? {
        guard let variant else { return 7 }
        guard variant.hasPrefix("v"), let level = Int(variant.dropFirst()), (5...8).contains(level) else { return nil }
        return level
    }

    private var normalizedVariant: String? {
        guard let variant, !variant.isEmpty else { return architecture == "arm64" ? "v8" : nil }
        return variant
    }
}
