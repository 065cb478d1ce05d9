import Foundation
import Testing

enum ShellConformance {
    static func run(_ c: JSONCase) throws {
        Issue.record("\(c.id): kind '\(c.kind)' is not implemented yet")
    }
}
