import Testing
import TestSupport
@testable import SwiftBuildKit

@Test func versionIsSemantic() {
    let parts = SwiftBuildVersion.current.split(separator: "-", maxSplits: 1)[0].split(separator: ".")
    #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
}
