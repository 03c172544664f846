import Testing
@testable import RenkeiEncoding

@Suite struct CharacterRepertoireTests {
    @Test(arguments: [
        (CharacterRepertoire.jisx0208, Expected.jisx0208Repertoire),
        (.cp932, Expected.cp932Repertoire),
        (.jisx0213, Expected.jisx0213Repertoire),
    ])
    func holdsExactlyTheCharactersThePythonCodecsGive(_ repertoire: CharacterRepertoire, _ expected: [UInt32: (Int, UInt64)]) {
        var actual: [UInt32: (count: Int, digest: FNV1a)] = [:]
        for scalar in everyScalar where repertoire.contains(scalar) {
            var entry = actual[scalar.value >> 12, default: (0, FNV1a())]
            entry.count += 1
            entry.digest.add(bigEndian: scalar.value)
            actual[scalar.value >> 12] = entry
        }
        let blocks = Set(actual.keys).union(expected.keys).sorted()
        let wrong = blocks.filter { actual[$0].map { ($0.count, $0.digest.value) } ?? (0, 0) != expected[$0] ?? (0, 0) }
        #expect(wrong.isEmpty, "\(repertoire) differs in blocks \(wrong.map { Unicode.Scalar.codePoint($0 << 12) })")
    }

    /// (character, in jisx0208, in cp932, in jisx0213).
    static let examples: [(Unicode.Scalar, Bool, Bool, Bool)] = [
        ("A", true, true, true),
        ("\t", true, true, true), ("\n", true, true, true), ("\r", true, true, true),
        ("\u{0}", false, false, false), ("\u{1A}", false, false, false), ("\u{7F}", false, false, false),
        ("〜", true, true, true), ("～", true, true, true),  // U+301C and U+FF5E: one JIS X 0208 character
        ("‖", true, true, true), ("∥", true, true, true),
        ("−", true, true, true), ("－", true, true, true),
        ("¢", true, true, true), ("￠", true, true, true),
        ("£", true, true, true), ("￡", true, true, true),
        ("¬", true, true, true), ("￢", true, true, true),
        ("亜", true, true, true), ("　", true, true, true),
        ("ｱ", false, true, false),  // half-width katakana: JIS X 0201, in cp932 only
        ("①", false, true, true), ("㈱", false, true, true),  // NEC row 13 (JIS X 0213 has them too)
        ("髙", false, true, false), ("﨑", false, true, true),  // IBM extensions
        ("\u{E000}", false, false, false), ("\u{E757}", false, false, false),  // 外字: never in a standard set
        ("𠮷", false, false, false), ("𠮟", false, false, true),
        ("\u{E0100}", false, false, false), ("\u{FE00}", false, false, false),  // variation selectors
        ("¥", false, false, false), ("‾", false, false, false),
        ("\u{FEFF}", false, false, false),
    ]

    @Test(arguments: examples.indices)
    func knowsTheExamples(_ index: Int) {
        let (scalar, jisx0208, cp932, jisx0213) = Self.examples[index]
        #expect(CharacterRepertoire.jisx0208.contains(scalar) == jisx0208, "\(scalar.codePointDescription)")
        #expect(CharacterRepertoire.cp932.contains(scalar) == cp932, "\(scalar.codePointDescription)")
        #expect(CharacterRepertoire.jisx0213.contains(scalar) == jisx0213, "\(scalar.codePointDescription)")
        #expect(CharacterRepertoire.unicode.contains(scalar))
    }

    @Test func anIVSIsOutsideEveryJapaneseSetAtItsSelector() {
        let kuzu = Array("葛\u{E0100}".unicodeScalars)
        for repertoire in [CharacterRepertoire.jisx0208, .cp932, .jisx0213] {
            #expect(kuzu.map(repertoire.contains) == [true, false])
        }
    }

    @Test func theSemiVoicedMarkIsJISX0213OnlyAfterItsKana() {
        let ka: Unicode.Scalar = "か", a: Unicode.Scalar = "あ", mark: Unicode.Scalar = "\u{309A}"
        #expect(CharacterRepertoire.jisx0213.contains(mark))  // alone: a part of か゚
        #expect(CharacterRepertoire.jisx0213.contains(mark, after: ka))
        #expect(!CharacterRepertoire.jisx0213.contains(mark, after: a))
        #expect(!CharacterRepertoire.jisx0213.contains(mark, after: nil))
        #expect(CharacterRepertoire.jisx0213.contains("\u{300}", after: "a"))  // U+0300 is a character of its own there
        #expect(!CharacterRepertoire.jisx0208.contains(mark, after: ka))
    }

    @Test func whatARepertoireHoldsTheEncodingsCanWrite() {
        for scalar in everyScalar where CharacterRepertoire.jisx0208.contains(scalar) {
            #expect(TextEncoder(.shiftJIS).canEncode(scalar) && TextEncoder(.cp932).canEncode(scalar) && TextEncoder(.eucJP).canEncode(scalar), "\(scalar.codePointDescription)")
            #expect(CharacterRepertoire.cp932.contains(scalar) && CharacterRepertoire.jisx0213.contains(scalar))
        }
        for scalar in everyScalar where CharacterRepertoire.cp932.contains(scalar) {
            #expect(TextEncoder(.cp932).canEncode(scalar), "\(scalar.codePointDescription)")
        }
    }

    @Test func namesAsJobFilesSpellThem() {
        #expect(CharacterRepertoire.allCases.map(\.rawValue) == ["jisx0208", "cp932", "jisx0213", "unicode"])
        #expect(TextEncoding.allCases.map(\.rawValue) == ["utf-8", "utf-8-bom", "cp932", "shift_jis", "euc-jp"])
    }
}
