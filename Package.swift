// swift-tools-version:6.0
import PackageDescription

// Module map (dependencies point one way):
//   SwiftBuildDockerfile          text → nodes → typed stages; words, .dockerignore patterns (no I/O)
//   SwiftBuildOCI                 Digest, MediaType, Descriptor, content store
//   SwiftBuildArchive → OCI       tar writer, hashing and compression sinks, layer reader
//   SwiftBuildKit → all three     builder, build context, planning, execution
//   swiftbuild → Kit              command line
// C is reached only through the system-library shims below, the CSandbox target (the RUN sandbox's child) and
// CHTTP (downloads for ADD <url>, with libcurl loaded only when used).
let package = Package(
    name: "swiftbuild",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swiftbuild", targets: ["swiftbuild"]),
        .library(name: "SwiftBuildKit", targets: ["SwiftBuildKit"]),
        .library(name: "SwiftBuildDockerfile", targets: ["SwiftBuildDockerfile"]),
        .library(name: "SwiftBuildArchive", targets: ["SwiftBuildArchive"]),
        .library(name: "SwiftBuildOCI", targets: ["SwiftBuildOCI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CIsal", path: "Sources/CIsal", pkgConfig: "libisal",
                       providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CSys", path: "Sources/CSys"),
        // Pins ISA-L's CPU-dispatched deflate routines to the portable ones: layer bytes that depend on the input
        // only (see Sources/CIsalPin/include/isal_pin.h).
        .target(name: "CIsalPin", linkerSettings: [.linkedLibrary("isal")]),
        // The RUN sandbox's child side (clone, mounts, pivot_root, exec): a small plain C target.
        .target(name: "CSandbox"),
        .target(name: "CHTTP", linkerSettings: [.linkedLibrary("dl")]),

        .target(name: "SwiftBuildDockerfile"),
        .target(name: "SwiftBuildOCI", dependencies: ["CCrypto", "CHTTP", "CSys"]),
        .target(name: "SwiftBuildArchive",
                dependencies: ["SwiftBuildOCI", "CZlib", "CArchive", "CZstd", "CIsal", "CIsalPin", "CSys"]),
        .target(name: "SwiftBuildKit",
                dependencies: ["SwiftBuildDockerfile", "SwiftBuildOCI", "SwiftBuildArchive", "CSys", "CSandbox", "CHTTP"]),
        .executableTarget(name: "swiftbuild", dependencies: [
            "SwiftBuildKit", "SwiftBuildOCI", "CSys",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared by every test target: temporary directories, process and CLI runners, one failure type.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SwiftBuildDockerfileTests", dependencies: ["SwiftBuildDockerfile", "TestSupport"]),
        .testTarget(name: "ConformanceTests", dependencies: ["SwiftBuildDockerfile", "SwiftBuildKit", "TestSupport"]),
        .testTarget(name: "SwiftBuildOCITests", dependencies: ["SwiftBuildOCI", "TestSupport"]),
        .testTarget(name: "SwiftBuildArchiveTests", dependencies: ["SwiftBuildArchive", "SwiftBuildOCI", "TestSupport"]),
        .testTarget(name: "SwiftBuildKitTests",
                    dependencies: ["SwiftBuildKit", "SwiftBuildDockerfile", "SwiftBuildOCI", "SwiftBuildArchive",
                                   "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
