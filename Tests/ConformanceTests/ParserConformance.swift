import Foundation
import Testing

enum ParserConformance {
    static func run(_ c: JSONCase) throws {
        Issue.record("\(c.id): kind '\(c.kind)' is not implemented yet")
    }
}
