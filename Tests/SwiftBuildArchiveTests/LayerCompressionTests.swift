import Testing
import TestSupport
@testable import SwiftBuildArchive

@Test func defaultLevelsMatchBuildx() {
    #expect(LayerCompression.gzip.defaultLevel == 6)
    #expect(LayerCompression.zstd.defaultLevel == 3)
}
