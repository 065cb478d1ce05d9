// swift-tools-version:6.0
// Benchmarks for swiftbuild, kept out of the main package so it never depends on benchmark tooling.
// Run in release mode: `swift run -c release <benchmark>` from this folder.
import PackageDescription

let package = Package(
    name: "swiftbuild-perf",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swiftbuild", path: ".."),
    ],
    targets: [
        .executableTarget(name: "parsebench", dependencies: [
            .product(name: "SwiftBuildDockerfile", package: "swiftbuild"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
