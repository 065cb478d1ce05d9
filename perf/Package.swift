// swift-tools-version:6.0
// Benchmarks for swiftbuild, kept in their own package so the main package never depends on them.
// Build and run in release mode from this folder: swift build -c release && .build/release/<benchmark> --help
import PackageDescription

let package = Package(
    name: "swiftbuild-perf",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named explicitly: SwiftPM would otherwise name a path dependency after its folder.
        .package(name: "swiftbuild", path: ".."),
    ],
    targets: [
        .executableTarget(name: "parsebench", dependencies: [
            .product(name: "SwiftBuildDockerfile", package: "swiftbuild"),
        ]),
        .executableTarget(name: "layerbench", dependencies: [
            .product(name: "SwiftBuildArchive", package: "swiftbuild"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
