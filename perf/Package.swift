// swift-tools-version:6.0
import PackageDescription

// SwiftPM names a path dependency after its folder (`main`, or a worktree's name), not after its manifest.
let parentPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "swiftbuild"

// Benchmarks live in their own package so the main package never depends on them.
// Build and run in release mode: swift build -c release && .build/release/layerbench --help
let package = Package(
    name: "swiftbuild-perf",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(name: "layerbench", dependencies: [
            .product(name: "SwiftBuildArchive", package: parentPackage),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
