import ArgumentParser
import Foundation
import SwiftBuildKit
import SwiftBuildOCI

/// `--root`, shared by the store commands.
struct RootOptions: ParsableArguments {
    @Option(help: "The store's root directory (default: $SWIFTBUILD_ROOT, else ~/.local/share/swiftbuild).")
    var root: String?

    func path() throws -> String {
        try root ?? ContentStore.defaultRoot(environment: ProcessInfo.processInfo.environment)
    }

    /// The content and image stores of the root.
    func stores() throws -> (ContentStore, ImageStore, String) {
        let path = try path()
        do {
            let content = try ContentStore(root: path)
            return (content, try ImageStore(root: path, content: content), path)
        } catch let error as ContentStoreError {
            throw CommandFailure(error.description)
        } catch let error as ImageStoreError {
            throw CommandFailure(error.description)
        }
    }
}

/// Parses an image name given on the command line, as one clear error.
func parseReference(_ text: String) throws -> ImageReference {
    do { return try ImageReference(parsing: text) } catch {
        throw CommandFailure("invalid image name \"\(text)\": \(error)")
    }
}

/// Runs a store operation, turning library errors into one-line failures.
func storeOperation<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as CommandFailure {
        throw error
    } catch let error as CustomStringConvertible {
        throw CommandFailure(error.description)
    } catch {
        throw CommandFailure("\(error)")
    }
}
