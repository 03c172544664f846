import Testing
@testable import RenkeiEncoding

@Suite struct TextConverterTests {
    @Test func convertsARecordFromCP932ToUTF8AndBack() throws {
        // The same record with the JIS table's 〜 (U+301C), as written, and Windows' ～ (U+FF5E), as cp932 reads it back.
        let record = "00000001,\"山田　太郎\",\"ﾔﾏﾀﾞ ﾀﾛｳ\",\"東京都千代田区１丁目〜２番地\"\r\n"
        let asWindowsReadsIt = "00000001,\"山田　太郎\",\"ﾔﾏﾀﾞ ﾀﾛｳ\",\"東京都千代田区１丁目～２番地\"\r\n"
        let cp932 = try #require(encode(record, as: .cp932))
        let utf8 = try convert(cp932, from: .cp932, to: .utf8)
        #expect(String(decoding: utf8, as: UTF8.self) == asWindowsReadsIt)
        #expect(try convert(utf8, from: .utf8, to: .cp932) == cp932)
        #expect(try convert(cp932, from: .cp932, to: .eucJP, newlines: .lf) == encode(String(record.dropLast()) + "\n", as: .eucJP))
    }

    @Test func changesLineEndingsOnRequest() throws {
        let text: [UInt8] = Array("a\r\nb\nc\rd\r\n".utf8)
        #expect(try convert(text, from: .utf8, to: .utf8, newlines: .keep) == text)
        #expect(try convert(text, from: .utf8, to: .utf8, newlines: .lf) == Array("a\nb\nc\rd\n".utf8))
        #expect(try convert(text, from: .utf8, to: .utf8, newlines: .crlf) == Array("a\r\nb\r\nc\rd\r\n".utf8))
    }

    @Test func stopsAtTheFirstBadByteWithItsLineAndColumn() {
        // 5,000 good lines, then a line whose third character is 0x80.
        let line = Array("1234567890,東京都,ﾃｽﾄ\r\n".utf8)
        var text = [UInt8](repeating: 0, count: 0)
        for _ in 0..<5_000 { text += line }
        let cp932 = encode(String(decoding: text, as: UTF8.self), as: .cp932)! + [0x41, 0x82, 0xA0, 0x80, 0x41]
        let offset = cp932.count - 2
        #expect(throws: ConversionProblem.unreadable(DecodingProblem(kind: .invalidByte, encoding: .cp932, position: TextPosition(offset: offset, line: 5_001, column: 3), bytes: [0x80]))) {
            try convert(cp932, from: .cp932, to: .utf8)
        }
    }

    @Test func reportsAnUnwritableCharacterOrReplacesIt() throws {
        let name = Array("髙橋\n𠮷田".utf8)
        #expect(throws: ConversionProblem.unwritable(UnencodableCharacter(scalar: "髙", encoding: .shiftJIS, position: .start))) {
            try convert(name, from: .utf8, to: .shiftJIS)
        }
        var converter = try TextConverter(from: .utf8, to: .shiftJIS, unencodable: .replace(with: "〓"))
        var output: [UInt8] = []
        try converter.convert(name, appendingTo: &output)
        try converter.finish(appendingTo: &output)
        #expect(output == [0x81, 0xAC, 0x8B, 0xB4, 0x0A, 0x81, 0xAC, 0x93, 0x63])  // 〓 is 0x81AC
        #expect(converter.replacements == 2)
        #expect(converter.firstReplaced == UnencodableCharacter(scalar: "髙", encoding: .shiftJIS, position: .start))
        #expect(converter.firstReplaced?.description == "line 1, column 1 (byte offset 0): U+9AD9 髙 cannot be written in shift_jis (cp932 can: it is a Microsoft, NEC or IBM extension of JIS X 0208)")
    }

    @Test func refusesAReplacementTheTargetCannotWriteEither() {
        #expect(throws: UnencodableCharacter(scalar: "𠮷", encoding: .cp932)) {
            try TextConverter(from: .utf8, to: .cp932, unencodable: .replace(with: "𠮷"))
        }
    }

    @Test func handlesByteOrderMarks() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try convert(bom + [0x41], from: .utf8BOM, to: .utf8) == [0x41])
        #expect(try convert([0x41], from: .utf8, to: .utf8BOM) == bom + [0x41])
        #expect(try convert([], from: .cp932, to: .utf8BOM) == bom)
        #expect(try convert([], from: .utf8, to: .cp932) == [])
        #expect(throws: ConversionProblem.unreadable(DecodingProblem(kind: .byteOrderMark, encoding: .utf8, position: .start, bytes: bom))) {
            try convert(bom + [0x41], from: .utf8, to: .cp932)
        }
        #expect(throws: ConversionProblem.unreadable(DecodingProblem(kind: .missingByteOrderMark, encoding: .utf8BOM, position: .start, bytes: [0x41]))) {
            try convert([0x41], from: .utf8BOM, to: .cp932)
        }
        #expect(throws: ConversionProblem.unreadable(DecodingProblem(kind: .missingByteOrderMark, encoding: .utf8BOM, position: .start, bytes: []))) {
            try convert([], from: .utf8BOM, to: .cp932)
        }
    }

    @Test func aTextThatEndsInsideACharacterFailsAtTheEnd() throws {
        var converter = try TextConverter(from: .cp932, to: .utf8)
        var output: [UInt8] = []
        try converter.convert([0x41, 0x82], appendingTo: &output)
        #expect(output == [0x41])
        #expect(throws: ConversionProblem.unreadable(DecodingProblem(kind: .truncated, encoding: .cp932, position: TextPosition(offset: 1, line: 1, column: 2), bytes: [0x82]))) {
            try converter.finish(appendingTo: &output)
        }
    }

    @Test func writesIntoACallersBuffer() throws {
        var converter = try TextConverter(from: .cp932, to: .utf8)
        let input: [UInt8] = [0x82, 0xA0, 0x41, 0xB1]
        var output = [UInt8](repeating: 0, count: TextConverter.outputCapacity(forInputCount: input.count))
        let written = try input.withUnsafeBytes { source in
            try output.withUnsafeMutableBytes { target in try converter.convert(source, into: target) }
        }
        #expect(Array(output.prefix(written)) == Array("あAｱ".utf8))
    }
}
