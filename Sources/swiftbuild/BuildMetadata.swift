import Foundation
import SwiftBuildKit

/// The `--metadata-file` JSON, with the keys buildx writes.
struct BuildMetadata {
    let result: BuildResult

    var json: [String: Any] {
        // A multi-platform build's digest is its index's, which has no config (buildx writes none either).
        var out: [String: Any] = [
            "containerimage.digest": result.manifest.digest.description,
            "containerimage.descriptor": [
                "mediaType": result.manifest.mediaType.rawValue,
                "digest": result.manifest.digest.description,
                "size": result.manifest.size,
            ] as [String: Any],
        ]
        if result.platforms.isEmpty { out["containerimage.config.digest"] = result.config.digest.description }
        if !result.tags.isEmpty { out["image.name"] = result.tags.map(\.description).joined(separator: ",") }
        return out
    }

    func write(to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// `--debug`: each cause under the error with its type, then every nested error value as Swift sees it, so
/// wrapped causes are not lost.
enum CauseChain {
    static func describe(_ error: any Error) -> String {
        var text = "\ncause chain:\n"
        if let build = error as? BuildError {
            for line in build.causeChain.dropFirst() { text += "  " + line + "\n" }
        }
        dump(error, to: &text, indent: 2)
        return text
    }
}
