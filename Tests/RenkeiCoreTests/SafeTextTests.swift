import Testing
@testable import RenkeiCore

@Suite struct SafeTextTests {
    @Test func everyControlCharacterIsShownAndNothingElseChanges() {
        #expect(SafeText.visible("ok\u{1B}[2J\r\n\t\u{0}\u{7}\u{7F}\u{9B}\u{85}end") == "ok\\e[2J\\r\\n\\t\\0\\x07\\x7f\\u{9b}\\u{85}end")
        #expect(SafeText.visible("住民 café ‐ ✓") == "住民 café ‐ ✓")
        #expect(SafeText.visible("") == "")
        // Every C0, DEL and C1 character becomes printable ASCII.
        for value in Array(0..<0x20) + Array(0x7F...0x9F) {
            let shown = SafeText.visible(String(Character(Unicode.Scalar(UInt32(value))!)))
            #expect(shown.hasPrefix("\\") && shown.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }, "\(value): \(shown)")
        }
    }

    @Test func aMessageOfSeveralLinesKeepsItsLineBreaksOnly() {
        #expect(SafeText.visibleLines("nothing was changed:\nb: \u{1B}[2J\rforged\n") == "nothing was changed:\nb: \\e[2J\\rforged\n")
        #expect(SafeText.visibleLines("plain") == "plain")
        #expect(SafeText.visibleLines("a\r\nb") == "a\\r\nb")
    }

    @Test func csvCellsThatASpreadsheetWouldEvaluateGetAQuote() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] { #expect(SafeText.csvCell(cell) == "'" + cell) }
        for cell in ["", "1", "ticket 7", "a=b", " =1", "'=1"] { #expect(SafeText.csvCell(cell) == cell) }
    }

    @Test func reasonsUpTo4KiBAreAccepted() {
        #expect(SafeText.reasonProblem(nil) == nil)
        #expect(SafeText.reasonProblem(String(repeating: "x", count: 4096)) == nil)
        #expect(SafeText.reasonProblem(String(repeating: "x", count: 4097)) == "the reason is 4097 bytes; at most 4096 are accepted")
        // Bytes, not characters: 1,366 three-byte characters are 4,098 bytes.
        #expect(SafeText.reasonProblem(String(repeating: "住", count: 1366)) != nil)
    }
}

@Suite struct JobFileProblemLimitTests {
    func problems(_ bytes: [UInt8]) -> [JobFileProblem] {
        guard case .failure(let failure) = JobFileParser.parse(file: "Jobs/junk.yaml", name: "junk", bytes: bytes) else { return [] }
        return failure.problems
    }

    @Test func aFileOfUnknownKeysListsAHundredProblemsThenCountsTheRest() {
        let text = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n" + (1...250).map { "unknown\($0): 1\n" }.joined()
        let listed = problems(Array(text.utf8))
        #expect(listed.count == 101)
        #expect(listed.prefix(100).allSatisfy { $0.description.hasPrefix("Jobs/junk.yaml:") && $0.description.contains(": error: ") })
        #expect(listed[0].line == 4, "the first in file order")
        #expect(listed[99].line == 103)
        #expect(listed[100].description == "… and 150 more problems in Jobs/junk.yaml")
    }

    @Test func aHundredProblemsAreAllListed() {
        let text = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n" + (1...100).map { "unknown\($0): 1\n" }.joined()
        let listed = problems(Array(text.utf8))
        #expect(listed.count == 100)
        #expect(listed.allSatisfy { $0.omitted == nil })
    }

    @Test func aNULByteIsReportedAtItsLineAndColumn() {
        let listed = problems(Array("steps:\n  - name: a\n    run: [\"/bin/\u{0}true\"]\n".utf8))
        #expect(listed.count == 1)
        #expect(listed.first?.line == 3)
        #expect(listed.first?.column == 17)
        #expect(listed.first?.description.hasPrefix("Jobs/junk.yaml:3:17: error: the file holds a NUL byte") == true, "\(listed)")
    }
}
