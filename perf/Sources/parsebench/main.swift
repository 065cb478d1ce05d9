// Parsing must be linear: a 10 MB Dockerfile within 12× the time of a 1 MB one.
//
// Usage: swift run -c release parsebench [--small-mb 1] [--large-mb 10] [--repeat 5]
// The Dockerfiles are generated (deterministically) with many instructions, long continuation chains
// and big heredocs, the shapes that would expose quadratic behaviour.
import Foundation
import SwiftBuildDockerfile

func argument(_ name: String, default value: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return value
}

/// A Dockerfile of about `bytes` bytes mixing the expensive shapes.
func dockerfile(bytes target: Int) -> [UInt8] {
    var out = "# syntax=docker/dockerfile:1\nARG BASE=debian\nFROM $BASE AS build\n"
    var n = 0
    while out.utf8.count < target {
        n += 1
        switch n % 6 {
        case 0:
            out += "RUN apt-get update \\\n"
            for i in 0..<50 { out += "    && echo step-\(n)-\(i) --flag=\"value \(i)\" \\\n" }
            out += "    && true\n"
        case 1:
            out += "COPY <<EOF\(n) /etc/file\(n)\n"
            for i in 0..<60 { out += "line \(i) of heredoc \(n) with $VAR and `ticks` and \"quotes\"\n" }
            out += "EOF\(n)\n"
        case 2:
            out += "ENV A\(n)=\"x y\" B\(n)=z C\(n)='q r' D\(n)=\\ e\n"
        case 3:
            out += "RUN --mount=type=cache,target=/root/.cache/\(n) [\"sh\", \"-c\", \"echo \(n)\"]\n"
        case 4:
            out += "LABEL org.example.n\(n)=\"\(n)\" \\\n    # a comment inside\n    other\(n)=value\n"
        default:
            out += "COPY --chown=1:1 --chmod=0644 src/\(n) /app/\(n)\n"
        }
    }
    return Array(out.utf8)
}

func measure(_ input: [UInt8], repeats: Int) -> (seconds: Double, instructions: Int) {
    var best = Double.infinity
    var count = 0
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        guard let parsed = try? DockerfileParser().parse(bytes: input) else {
            fatalError("generated Dockerfile does not parse")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        count = parsed.instructions.count
        best = min(best, seconds)
    }
    return (best, count)
}

let small = dockerfile(bytes: argument("--small-mb", default: 1) << 20)
let large = dockerfile(bytes: argument("--large-mb", default: 10) << 20)
let repeats = argument("--repeat", default: 5)
_ = measure(small, repeats: 1)  // warm up
let s = measure(small, repeats: repeats)
let l = measure(large, repeats: repeats)
let ratio = l.seconds / s.seconds
func mb(_ b: [UInt8]) -> String { String(format: "%.1f MB", Double(b.count) / 1e6) }
print("input      size      instructions  best of \(repeats)   MB/s")
print(String(format: "small   %9@  %12d  %9.4f s  %6.1f", mb(small), s.instructions, s.seconds, Double(small.count) / 1e6 / s.seconds))
print(String(format: "large   %9@  %12d  %9.4f s  %6.1f", mb(large), l.instructions, l.seconds, Double(large.count) / 1e6 / l.seconds))
let sizeRatio = Double(large.count) / Double(small.count)
print(String(format: "time ratio large/small: %.2f (size ratio %.2f; limit 12)", ratio, sizeRatio))
if ratio > 12 { print("FAIL: parsing is not linear"); exit(1) }
print("OK: linear")
