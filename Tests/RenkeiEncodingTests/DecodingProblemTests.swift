import Testing
@testable import RenkeiEncoding

/// Bytes that are not text: each reported with its exact offset, line, column and bytes, and
/// reading goes on after it.
@Suite struct DecodingProblemTests {
    func only(_ bytes: [UInt8], as encoding: TextEncoding) -> DecodingProblem? {
        let found = problems(bytes, as: encoding)
        #expect(found.count == 1, "\(found)")
        return found.first
    }

    func at(_ offset: Int, line: Int = 1, column: Int) -> TextPosition {
        TextPosition(offset: offset, line: line, column: column)
    }

    @Test func aLeadByteAtTheEndIsATruncatedCharacter() {
        for encoding in [TextEncoding.cp932, .shiftJIS] {
            let problem = only(Array("AB".utf8) + [0x81], as: encoding)
            #expect(problem == DecodingProblem(kind: .truncated, encoding: encoding, position: at(2, column: 3), bytes: [0x81]))
        }
        #expect(only([0x41, 0xA4], as: .eucJP) == DecodingProblem(kind: .truncated, encoding: .eucJP, position: at(1, column: 2), bytes: [0xA4]))
        #expect(only([0x8F, 0xA2], as: .eucJP) == DecodingProblem(kind: .truncated, encoding: .eucJP, position: at(0, column: 1), bytes: [0x8F, 0xA2]))
        #expect(only([0xE3, 0x81], as: .utf8) == DecodingProblem(kind: .truncated, encoding: .utf8, position: at(0, column: 1), bytes: [0xE3, 0x81]))
        #expect(only([0x81], as: .cp932)?.description == "line 1, column 1 (byte offset 0): the text ends inside a character: 0x81 starts a character in cp932 that is never finished")
    }

    @Test func aLeadByteBeforeALineEndIsReportedAloneAndTheLineEndStillCounts() {
        // "あ" 0x81 CR LF "い": the lone lead byte is one problem; the next line is line 2.
        let bytes: [UInt8] = [0x82, 0xA0, 0x81, 0x0D, 0x0A, 0x82, 0xA2]
        let events = decode(bytes, as: .cp932)
        #expect(events == [
            .scalar("あ", at(0, column: 1)),
            .problem(DecodingProblem(kind: .incompleteCharacter, encoding: .cp932, position: at(2, column: 2), bytes: [0x81])),
            .scalar("\r", at(3, column: 3)),
            .scalar("\n", at(4, column: 4)),
            .scalar("い", at(5, line: 2, column: 1)),
        ])
    }

    @Test func aBadTrailByteIsReportedWithItsLead() {
        // 0x81 0x7F: 0x7F cannot be a trail byte; 0x85 0x40: a free code; 0x81 0xFD: 0xFD cannot either.
        #expect(problems([0x81, 0x7F], as: .cp932).map(\.bytes) == [[0x81]])
        #expect(problems([0x85, 0x40], as: .cp932) == [DecodingProblem(kind: .unmapped, encoding: .cp932, position: at(0, column: 1), bytes: [0x85, 0x40])])
        #expect(problems([0x81, 0xFD], as: .cp932).map(\.kind) == [.incompleteCharacter, .invalidByte])
        #expect(problems([0xA4, 0x41], as: .eucJP).map(\.kind) == [.incompleteCharacter])
        #expect(problems([0x8E, 0xE0], as: .eucJP).map(\.kind) == [.unmapped])
        #expect(problems([0x8F, 0xA1, 0xA1], as: .eucJP) == [DecodingProblem(kind: .unmapped, encoding: .eucJP, position: at(0, column: 1), bytes: [0x8F, 0xA1, 0xA1])])
        #expect(problems([0x8F, 0xA2, 0x41], as: .eucJP).map(\.bytes) == [[0x8F, 0xA2]])
    }

    @Test(arguments: [0x80, 0xA0, 0xFD, 0xFE, 0xFF] as [UInt8])
    func bytesThatStartNoCharacterInCP932(_ byte: UInt8) {
        let problem = only([0x41, 0x0A, 0x42, byte, 0x43], as: .cp932)
        #expect(problem == DecodingProblem(kind: .invalidByte, encoding: .cp932, position: at(3, line: 2, column: 2), bytes: [byte]))
        #expect(problem?.explanation == "\(describeBytes([byte])) cannot start a character in cp932")
    }

    @Test func eucJPRefusesC1BytesThatIconvPassesThrough() {
        for byte in [0x80, 0x8D, 0x90, 0x9F, 0xA0, 0xFF] as [UInt8] {
            #expect(problems([byte], as: .eucJP).map(\.kind) == [.invalidByte])
        }
    }

    @Test func utf8RefusesOverlongFormsSurrogatesAndTooLargeValues() {
        let cases: [([UInt8], DecodingProblem.Kind, String)] = [
            ([0xC0, 0xAF], .overlong, "0xC0 0xAF is an overlong form of U+002F, which UTF-8 forbids"),
            ([0xE0, 0x80, 0xAF], .overlong, "0xE0 0x80 0xAF is an overlong form of U+002F, which UTF-8 forbids"),
            ([0xF0, 0x82, 0x82, 0xAC], .overlong, "0xF0 0x82 0x82 0xAC is an overlong form of U+20AC, which UTF-8 forbids"),
            ([0xED, 0xA0, 0x80], .surrogate, "0xED 0xA0 0x80 encodes the surrogate U+D800, which UTF-8 forbids (CESU-8, or UTF-16 converted badly)"),
            ([0xED, 0xBF, 0xBF], .surrogate, "0xED 0xBF 0xBF encodes the surrogate U+DFFF, which UTF-8 forbids (CESU-8, or UTF-16 converted badly)"),
            ([0xF4, 0x90, 0x80, 0x80], .beyondUnicode, "0xF4 0x90 0x80 0x80 encodes a value beyond U+10FFFF, the last Unicode character"),
            ([0xF5, 0x80, 0x80, 0x80], .beyondUnicode, "0xF5 0x80 0x80 0x80 encodes a value beyond U+10FFFF, the last Unicode character"),
            ([0x80], .invalidByte, "0x80 continues a UTF-8 character that never started (is the file really utf-8?)"),
            ([0xFF], .invalidByte, "0xFF never occurs in UTF-8 (is the file really utf-8?)"),
        ]
        for (bytes, kind, explanation) in cases {
            let problem = only([0x61] + bytes + [0x62], as: .utf8)
            #expect(problem == DecodingProblem(kind: kind, encoding: .utf8, position: at(1, column: 2), bytes: bytes))
            #expect(problem?.explanation == explanation)
        }
        // The largest scalar and the neighbours of the surrogates are fine.
        #expect(scalars([0xF4, 0x8F, 0xBF, 0xBF, 0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80], as: .utf8) == [0x10FFFF, 0xD7FF, 0xE000])
    }

    @Test func aUTF8CharacterCutShortIsReportedUpToWhereItBreaks() {
        #expect(problems([0xE3, 0x81, 0x41], as: .utf8) == [DecodingProblem(kind: .incompleteCharacter, encoding: .utf8, position: at(0, column: 1), bytes: [0xE3, 0x81])])
        #expect(decode([0xE3, 0x41], as: .utf8).count == 2)  // the problem, then "A"
    }

    @Test func utf8BOMRequiresTheMarkAndUTF8ReportsIt() {
        let text: [UInt8] = [0xEF, 0xBB, 0xBF, 0x41]
        #expect(decode(text, as: .utf8BOM) == [.scalar("A", at(3, column: 1))])
        #expect(decode(text, as: .utf8) == [
            .problem(DecodingProblem(kind: .byteOrderMark, encoding: .utf8, position: .start, bytes: [0xEF, 0xBB, 0xBF])),
            .scalar("A", at(3, column: 1)),
        ])
        #expect(decode([0x41, 0x42, 0x43, 0x44], as: .utf8BOM).first == .problem(DecodingProblem(kind: .missingByteOrderMark, encoding: .utf8BOM, position: .start, bytes: [0x41, 0x42, 0x43])))
        #expect(decode([], as: .utf8BOM) == [.problem(DecodingProblem(kind: .missingByteOrderMark, encoding: .utf8BOM, position: .start, bytes: []))])
        #expect(decode([0xEF, 0xBB], as: .utf8BOM) == [
            .problem(DecodingProblem(kind: .missingByteOrderMark, encoding: .utf8BOM, position: .start, bytes: [0xEF, 0xBB])),
            .problem(DecodingProblem(kind: .truncated, encoding: .utf8BOM, position: .start, bytes: [0xEF, 0xBB])),
        ])
        #expect(decode([], as: .utf8) == [])
        // U+FEFF later in a text is a character like any other (a `characters:` check may refuse it).
        #expect(scalars([0x41, 0xEF, 0xBB, 0xBF], as: .utf8) == [0x41, 0xFEFF])
        #expect(problems([0x41, 0xEF, 0xBB, 0xBF], as: .utf8BOM).map(\.kind) == [.missingByteOrderMark])
        #expect(DecodingProblem(kind: .missingByteOrderMark, encoding: .utf8BOM, position: .start, bytes: [0x41, 0x42, 0x43]).description
            == "line 1, column 1 (byte offset 0): utf-8-bom text must start with the byte order mark 0xEF 0xBB 0xBF, but it starts with 0x41 0x42 0x43")
    }

    @Test func columnsCountCharactersAndLinesEndAtLF() {
        // "ab\r\nあい\n" then 0x80 at line 3, column 1; a lone CR does not end a line.
        let bytes: [UInt8] = [0x61, 0x62, 0x0D, 0x0A, 0x82, 0xA0, 0x82, 0xA2, 0x0A, 0x80, 0x0D, 0x80]
        let found = problems(bytes, as: .cp932)
        #expect(found.map(\.position) == [at(9, line: 3, column: 1), at(11, line: 3, column: 3)])
    }
}
