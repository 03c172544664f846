import RenkeiCore
import Testing

@Suite struct GlobTests {
    @Test func wildcards() {
        #expect(Glob.matches("shikaku_*.csv", "shikaku_20261201.csv"))
        #expect(!Glob.matches("shikaku_*.csv", "shikaku_20261201.csv.part"))
        #expect(Glob.matches("IDO_2026120?.csv", "IDO_20261201.csv"))
        #expect(!Glob.matches("*", ".IDO.csv.renkei-tmp"))
        #expect(Glob.matches(".*", ".hidden"))
    }
}
