import Testing
import TestSupport
@testable import SwiftBuildDockerfile

@Test func positionsOrderByLineThenColumn() {
    #expect(SourcePosition(line: 1, column: 9) < SourcePosition(line: 2, column: 1))
    #expect(SourcePosition(line: 3, column: 2) < SourcePosition(line: 3, column: 5))
    #expect(SourceRange(start: .init(line: 1, column: 1), end: .init(line: 2, column: 4)).description == "1:1-2:4")
}
