// layerbench: builds one layer (both digests) per workload and compression with SwiftBuildArchive, and times the
// reference shell pipelines on the same directories, then prints a side-by-side table.
//
//   python3 /work/shared/perf/gen-workloads.py --out /tmp/perf --only bigfile,smallfiles
//   swift build -c release && .build/release/layerbench --data /tmp/perf
//
// Each of our measurements runs in a child process, so its peak RSS (getrusage ru_maxrss) is its own.
import Foundation
import Glibc
import SwiftBuildArchive

struct Options {
    var data = "/tmp/perf"
    var workloads = ["bigfile", "smallfiles"]
    var compressions: [(LayerCompression, Int)] = [(.gzip, 6), (.zstd, 3), (.uncompressed, 0)]
    var threads = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    var runs = 1
    var reference = true
    var gzipSize = true
}

func usage() -> Never {
    print("""
    usage: layerbench [--data DIR] [--workloads bigfile,smallfiles] [--compressions gzip:6,zstd:3,uncompressed]
                      [--threads N] [--runs N] [--no-reference] [--no-gzip-size]
      DIR holds the workloads written by gen-workloads.py --out DIR; each workload directory is archived whole.
    """)
    exit(2)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func peakRSSKiB() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss
}

/// Child mode: one layer, one line of results.
func runChild(_ args: [String]) throws -> Never {
    guard args.count == 4 || args.count == 5, let compression = LayerCompression(rawValue: args[1]), let level = Int(args[2]),
          let threads = Int(args[3]) else { usage() }
    var writer = try LayerWriter(compression: compression, level: level, threads: threads)
    if args.count == 5 && args[4] == "noprobe" { writer.detectsIncompressibleData = false }
    let sink: any LayerSink
    if args.count == 5 && args[4].hasPrefix("out=") {
        sink = try FileLayerSink(path: String(args[4].dropFirst(4)))   // to check the blob with gzip -t / zstd -t
    } else {
        sink = DiscardingLayerSink()
    }
    let start = now()
    let result = try writer.write(tree: args[0], to: sink)
    let seconds = now() - start
    try (sink as? FileLayerSink)?.close()
    print("RESULT \(seconds) \(result.uncompressedSize) \(result.size) \(peakRSSKiB()) \(result.diffID) \(result.digest)")
    exit(0)
}

struct Measurement {
    var name: String
    var seconds: Double
    var tarBytes: Int64
    var outBytes: Int64?
    var rssKiB: Int?
}

@discardableResult
func shell(_ script: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", "set -euo pipefail; " + script]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw NSError(domain: "layerbench", code: Int(p.terminationStatus),
                                                        userInfo: [NSLocalizedDescriptionKey: "failed: \(script)"]) }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func ours(_ dir: String, _ compression: LayerCompression, _ level: Int, _ o: Options) throws -> Measurement {
    var times: [Double] = []
    var last: [String] = []
    for _ in 0..<o.runs {
        let line = try shell("'\(CommandLine.arguments[0])' --child '\(dir)' \(compression.rawValue) \(level) \(o.threads)")
        last = line.split(separator: " ").map(String.init)
        guard last.count == 7, last[0] == "RESULT", let t = Double(last[1]) else { throw NSError(domain: line, code: 1) }
        times.append(t)
    }
    let label = compression == .uncompressed ? "swiftbuild uncompressed" : "swiftbuild \(compression.rawValue) -\(level)"
    return Measurement(name: label + " (\(o.threads) thr)", seconds: median(times), tarBytes: Int64(last[2]) ?? 0,
                       outBytes: Int64(last[3]), rssKiB: Int(last[4]))
}

func reference(_ name: String, _ script: String, tarBytes: Int64, _ o: Options) throws -> Measurement {
    var times: [Double] = []
    var size: Int64?
    for _ in 0..<o.runs {
        let start = now()
        let out = try shell(script)
        times.append(now() - start)
        size = Int64(out.split(separator: "\n").last.map(String.init) ?? "")
    }
    return Measurement(name: name, seconds: median(times), tarBytes: tarBytes, outBytes: size, rssKiB: nil)
}

func countFiles(_ dir: String) -> Int {
    var n = 0
    let e = FileManager.default.enumerator(atPath: dir)
    while e?.nextObject() != nil { n += 1 }
    return n
}

func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
    s.count >= n ? s : (right ? String(repeating: " ", count: n - s.count) + s : s + String(repeating: " ", count: n - s.count))
}

// MARK: main

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "--child" { try runChild(Array(args.dropFirst())) }
var o = Options()
while let a = args.first {
    args.removeFirst()
    func value() -> String { guard let v = args.first else { usage() }; args.removeFirst(); return v }
    switch a {
    case "--data": o.data = value()
    case "--workloads": o.workloads = value().split(separator: ",").map(String.init)
    case "--compressions":
        o.compressions = try value().split(separator: ",").map { spec in
            let parts = spec.split(separator: ":")
            guard let c = LayerCompression(rawValue: String(parts[0])) else { usage() }
            return (c, parts.count > 1 ? Int(parts[1]) ?? c.defaultLevel : try LayerWriter(compression: c).level)
        }
    case "--threads": o.threads = Int(value()) ?? o.threads
    case "--runs": o.runs = max(1, Int(value()) ?? 1)
    case "--no-reference": o.reference = false
    case "--no-gzip-size": o.gzipSize = false
    default: usage()
    }
}

for workload in o.workloads {
    let dir = o.data + "/" + workload
    guard FileManager.default.fileExists(atPath: dir) else {
        print("missing \(dir): run gen-workloads.py --out \(o.data) --only \(workload)")
        continue
    }
    let files = countFiles(dir)
    try shell("tar -cf - -C '\(dir)' . > /dev/null")   // warm the page cache
    var rows: [Measurement] = []
    for (c, level) in o.compressions { rows.append(try ours(dir, c, level, o)) }
    let tarBytes = rows.first?.tarBytes ?? 0
    var gzip6: Int64?
    if o.reference {
        let q = "'\(dir)'"
        rows.append(try reference("tar | tee >(sha256sum) | pigz -p2 -6 | sha256sum",
            "tar -cf - -C \(q) . | tee >(sha256sum >/dev/null) | pigz -p2 -6 | tee >(sha256sum >/dev/null) | wc -c",
            tarBytes: tarBytes, o))
        rows.append(try reference("tar | tee >(sha256sum) | zstd -3 -T2 | sha256sum",
            "tar -cf - -C \(q) . | tee >(sha256sum >/dev/null) | zstd -q -3 -T2 -c | tee >(sha256sum >/dev/null) | wc -c",
            tarBytes: tarBytes, o))
        rows.append(try reference("tar | sha256sum", "tar -cf - -C \(q) . | sha256sum >/dev/null; echo",
            tarBytes: tarBytes, o))
        if o.gzipSize {
            let m = try reference("tar | gzip -6 (size only)", "tar -cf - -C \(q) . | gzip -6 | wc -c", tarBytes: tarBytes,
                                  Options(runs: 1))
            gzip6 = m.outBytes
            rows.append(m)
        }
    }

    print("\n## \(workload): \(files) entries, tar stream \(String(format: "%.1f", Double(tarBytes) / 1e6)) MB\n")
    print("| " + ["pipeline", "seconds", "MB/s", "files/s", "peak RSS", "output bytes", "size vs gzip -6"]
        .joined(separator: " | ") + " |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows {
        let mbs = Double(r.tarBytes) / 1e6 / r.seconds
        let ratio = (r.outBytes.flatMap { out in gzip6.map { String(format: "%.3f", Double(out) / Double($0)) } }) ?? ""
        print("| " + [r.name, String(format: "%.3f", r.seconds), String(format: "%.0f", mbs),
                      String(format: "%.0f", Double(files) / r.seconds),
                      r.rssKiB.map { String(format: "%.1f MiB", Double($0) / 1024) } ?? "",
                      r.outBytes.map(String.init) ?? "", ratio].joined(separator: " | ") + " |")
    }
    func speedup(_ a: String, _ b: String) -> String {
        guard let x = rows.first(where: { $0.name.hasPrefix(a) }), let y = rows.first(where: { $0.name.hasPrefix(b) })
        else { return "n/a" }
        return String(format: "%.2fx", y.seconds / x.seconds)
    }
    if o.reference {
        print("\nspeed vs reference: gzip \(speedup("swiftbuild gzip", "tar | tee >(sha256sum) | pigz")), "
              + "zstd \(speedup("swiftbuild zstd", "tar | tee >(sha256sum) | zstd")), "
              + "uncompressed \(speedup("swiftbuild uncompressed", "tar | sha256sum"))")
    }
}
