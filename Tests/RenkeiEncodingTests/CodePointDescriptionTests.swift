import Testing
@testable import RenkeiEncoding

@Suite struct CodePointDescriptionTests {
    @Test(arguments: [
        ("𠮷", "U+20BB7 𠮷"),
        ("髙", "U+9AD9 髙"),
        ("A", "U+0041 A"),
        ("\u{E0100}", "U+E0100 VARIATION SELECTOR-17"),
        ("\u{FE0F}", "U+FE0F VARIATION SELECTOR-16"),
        ("\u{0}", "U+0000 NULL"),
        ("\t", "U+0009 CHARACTER TABULATION"),
        ("\u{1B}", "U+001B ESCAPE"),
        ("\u{7F}", "U+007F DELETE"),
        ("\u{85}", "U+0085 NEXT LINE"),
        (" ", "U+0020 SPACE"),
        ("\u{3000}", "U+3000 IDEOGRAPHIC SPACE"),
        ("\u{A0}", "U+00A0 NO-BREAK SPACE"),
        ("\u{200B}", "U+200B ZERO WIDTH SPACE"),
        ("\u{FEFF}", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("\u{2028}", "U+2028 LINE SEPARATOR"),
        ("\u{309A}", "U+309A COMBINING KATAKANA-HIRAGANA SEMI-VOICED SOUND MARK"),
        ("\u{E000}", "U+E000 PRIVATE USE (外字)"),
        ("\u{378}", "U+0378 UNASSIGNED"),
    ] as [(Unicode.Scalar, String)])
    func showsACharacterOrItsName(_ scalar: Unicode.Scalar, _ shown: String) {
        #expect(scalar.codePointDescription == shown)
    }

    @Test func neverPrintsAControlCharacter() {
        for scalar in everyScalar {
            let shown = scalar.codePointDescription
            #expect(!shown.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(scalar.value)")
        }
    }
}
