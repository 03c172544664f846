import Testing
@testable import RenkeiEncoding

/// The characters that go wrong between Windows and the JIS table, and the ones only some of the
/// encodings have: each read and written in every encoding, both ways.
@Suite struct TrapTests {
    /// (JIS table's code point, CP932's, the Shift_JIS bytes both are at, EUC-JP's bytes).
    static let otherNames: [(jis: UInt32, microsoft: UInt32, sjis: [UInt8], euc: [UInt8])] = [
        (0x301C, 0xFF5E, [0x81, 0x60], [0xA1, 0xC1]),  // 〜 ～
        (0x2016, 0x2225, [0x81, 0x61], [0xA1, 0xC2]),  // ‖ ∥
        (0x2212, 0xFF0D, [0x81, 0x7C], [0xA1, 0xDD]),  // − －
        (0x00A2, 0xFFE0, [0x81, 0x91], [0xA1, 0xF1]),  // ¢ ￠
        (0x00A3, 0xFFE1, [0x81, 0x92], [0xA1, 0xF2]),  // £ ￡
        (0x00AC, 0xFFE2, [0x81, 0xCA], [0xA2, 0xCC]),  // ¬ ￢
    ]

    @Test(arguments: otherNames.indices)
    func theJISTableAndMicrosoftNameTheSameCharacterDifferently(_ index: Int) throws {
        let (jis, microsoft, sjis, euc) = Self.otherNames[index]
        #expect(scalars(sjis, as: .cp932) == [microsoft])
        #expect(scalars(sjis, as: .shiftJIS) == [jis])
        #expect(scalars(euc, as: .eucJP) == [jis])
        // Either name is written at the one position: the position is the character.
        for scalar in [jis, microsoft] {
            let text = String(Unicode.Scalar(scalar)!)
            #expect(encode(text, as: .cp932) == sjis)
            #expect(encode(text, as: .shiftJIS) == sjis)
            #expect(encode(text, as: .eucJP) == euc)
        }
        // So a cp932 file goes to shift_jis and back byte for byte.
        #expect(try convert(sjis, from: .cp932, to: .shiftJIS) == sjis)
        #expect(try convert(sjis, from: .shiftJIS, to: .cp932) == sjis)
    }

    @Test func reverseSolidusAndTildeAreASCIIAndTheirFullWidthFormsAreJISX0208() {
        for encoding in [TextEncoding.cp932, .shiftJIS, .eucJP] {
            #expect(scalars([0x5C, 0x7E], as: encoding) == [0x5C, 0x7E])
            #expect(encode("\\~", as: encoding) == [0x5C, 0x7E])
            #expect(encode("\u{A5}", as: encoding) == nil, "¥ would come back as \\")
            #expect(encode("\u{203E}", as: encoding) == nil, "‾ would come back as ~")
        }
        #expect(scalars([0x81, 0x5F], as: .cp932) == [0xFF3C])
        #expect(scalars([0x81, 0x5F], as: .shiftJIS) == [0xFF3C])
        #expect(scalars([0x8F, 0xA2, 0xB7], as: .eucJP) == [0x7E])  // JIS X 0212's tilde, as Python reads it
    }

    @Test func necAndIBMExtensionsAreOnlyCP932() {
        let onlyCP932: [(String, [UInt8])] = [("①", [0x87, 0x40]), ("㈱", [0x87, 0x8A]), ("髙", [0xFB, 0xFC]), ("﨑", [0xFA, 0xB1])]
        for (text, bytes) in onlyCP932 {
            #expect(encode(text, as: .cp932) == bytes)
            #expect(scalars(bytes, as: .cp932) == text.unicodeScalars.map(\.value))
            #expect(encode(text, as: .shiftJIS) == nil)
            #expect(problems(bytes, as: .shiftJIS).map(\.kind) == [.unmapped])
        }
        #expect(encode("①", as: .eucJP) == nil)
        let problem = problems([0x87, 0x40], as: .shiftJIS)[0]
        #expect(problem.description == "line 1, column 1 (byte offset 0): 0x87 0x40 is not a character in shift_jis (cp932 has U+2460 ① there: is the file cp932?)")
    }

    @Test func aCharacterBeyondTheBMPIsOnlyUTF8() throws {
        let name = "𠮷田"
        for encoding in [TextEncoding.cp932, .shiftJIS, .eucJP] {
            #expect(encode(name, as: encoding) == nil)
            #expect(throws: ConversionProblem.unwritable(UnencodableCharacter(scalar: "𠮷", encoding: encoding, position: .start))) {
                try convert(Array(name.utf8), from: .utf8, to: encoding)
            }
        }
        #expect(scalars(Array(name.utf8), as: .utf8) == [0x20BB7, 0x7530])
        #expect(try convert(Array(name.utf8), from: .utf8, to: .utf8BOM) == [0xEF, 0xBB, 0xBF] + Array(name.utf8))
        let problem = UnencodableCharacter(scalar: "𠮷", encoding: .cp932, position: TextPosition(offset: 12, line: 2, column: 3))
        #expect(problem.description == "line 2, column 3 (byte offset 12): U+20BB7 𠮷 cannot be written in cp932 (beyond the Basic Multilingual Plane, where no Shift_JIS or EUC-JP character is)")
    }

    @Test func userDefinedCharactersArePrivateUseInCP932Only() {
        #expect(scalars([0xF0, 0x40], as: .cp932) == [0xE000])
        #expect(scalars([0xF9, 0xFC], as: .cp932) == [0xE757])
        #expect(encode("\u{E000}", as: .cp932) == [0xF0, 0x40])
        #expect(encode("\u{E757}", as: .cp932) == [0xF9, 0xFC])
        #expect(encode("\u{E758}", as: .cp932) == nil)
        #expect(encode("\u{E000}", as: .shiftJIS) == nil)
        #expect(encode("\u{E000}", as: .eucJP) == nil)
        #expect(problems([0xF0, 0x40], as: .shiftJIS).map(\.kind) == [.unmapped])
    }

    @Test func anIdeographicVariationSequenceCannotBeWrittenInALegacyEncoding() throws {
        let kuzu = "葛\u{E0100}"  // 葛󠄀: U+845B and VARIATION SELECTOR-17
        #expect(Array(kuzu.unicodeScalars.map(\.value)) == [0x845B, 0xE0100])
        #expect(encode("葛", as: .cp932) == [0x8A, 0x8B])
        #expect(encode(kuzu, as: .cp932) == nil)
        #expect(scalars(Array(kuzu.utf8), as: .utf8) == [0x845B, 0xE0100])
        let at = TextPosition(offset: 3, line: 1, column: 2)
        #expect(throws: ConversionProblem.unwritable(UnencodableCharacter(scalar: "\u{E0100}", encoding: .cp932, position: at))) {
            try convert(Array(kuzu.utf8), from: .utf8, to: .cp932)
        }
        // Replaced, the base character stays and the selector goes.
        #expect(try convert(Array(kuzu.utf8), from: .utf8, to: .cp932, unencodable: .replace(with: "〓")) == [0x8A, 0x8B, 0x81, 0xAC])
    }

    @Test func halfWidthKatakanaIsOneByteInShiftJISAndTwoInEUCJP() {
        #expect(scalars([0xB1, 0xDF], as: .cp932) == [0xFF71, 0xFF9F])
        #expect(scalars([0xB1], as: .shiftJIS) == [0xFF71])
        #expect(scalars([0x8E, 0xB1], as: .eucJP) == [0xFF71])
        #expect(encode("ｱﾟ", as: .shiftJIS) == [0xB1, 0xDF])
        #expect(encode("ｱ", as: .eucJP) == [0x8E, 0xB1])
    }
}
