import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiLink

/// `check:` on real files written in each encoding: every problem named with its row, column and
/// byte offset, the first 20 listed and all counted, the step failed with `data`, and the file's
/// record count answered for the `file` table.
@Suite struct CheckTests {
    // MARK: - Characters

    /// A utf-8 file (the only encoding that can hold all of them) with 𠮷 in a name at row 52,
    /// a private-use 外字, an ideographic variation sequence and the cp932-only characters.
    static func namesFile() -> (text: String, bytes: [UInt8]) {
        var text = "番号,区分,氏名\n"                                      // 21 bytes
        for row in 2...51 { text += "\(row),転入,山田太郎\n" }              // 8 × 22 + 42 × 23: row 52 at 1163
        text += "52,転入,𠮷田花子\n"                                        // 𠮷 at 1163 + 10 = 1173; 24 bytes
        text += "53,転入,\u{E000}川\n"                                      // U+E000 at 1197; 17 bytes
        text += "54,転入,葛\u{E0100}西\n"                                   // 葛 at 1214, the selector at 1217; 21 bytes
        text += "55,転入,髙橋①㈱﨑\n"                                      // 髙 1235, 橋 1238, ① 1241, ㈱ 1244, 﨑 1247
        return (text, Array(text.utf8))
    }

    @Test func jisx0208NamesTheRowColumnAndCodePointOfEveryCharacterOutsideIt() throws {
        let files = try DataDirectory()
        let (_, bytes) = Self.namesFile()
        let path = files.write("IDO.csv", bytes)
        let answer = perform(.init(file: path, encoding: .utf8, newline: .lf, header: ["番号", "区分", "氏名"], columns: 3, characters: .jisx0208))
        #expect(answer.listed == [
            "row 52, column 3 (byte 1173): expected a character of jisx0208, found U+20BB7 𠮷",
            "row 53, column 3 (byte 1197): expected a character of jisx0208, found U+E000 PRIVATE USE (外字)",
            "row 54, column 3 (byte 1217): expected a character of jisx0208, found U+E0100 VARIATION SELECTOR-17",
            "row 55, column 3 (byte 1235): expected a character of jisx0208, found U+9AD9 髙",
            "row 55, column 3 (byte 1241): expected a character of jisx0208, found U+2460 ①",
            "row 55, column 3 (byte 1244): expected a character of jisx0208, found U+3231 ㈱",
            "row 55, column 3 (byte 1247): expected a character of jisx0208, found U+FA11 﨑",
        ])
        let failure = try #require(answer.failure)
        #expect(failure.errorClass == .data)
        #expect(failure.message == "IDO.csv breaks its contract: 7 problems; first: row 52, column 3 (byte 1173): expected a character of jisx0208, found U+20BB7 𠮷")
        #expect(answer.result.findings?.count == 7)
        // The record count is answered even for a file that breaks its contract: 54 after the header.
        #expect(answer.result.files.map(\.records) == [54])
        #expect(answer.result.files.map(\.outcome) == [.failedCheck])
        #expect(answer.result.files.map(\.direction) == [.checked])
    }

    @Test func cp932AcceptsTheExtensionsButNotGaijiAndUnicodeAcceptsAll() throws {
        let files = try DataDirectory()
        let path = files.write("IDO.csv", Self.namesFile().bytes)
        let cp932 = perform(.init(file: path, encoding: .utf8, newline: .lf, characters: .cp932))
        #expect(cp932.listed == [
            "row 52, column 3 (byte 1173): expected a character of cp932, found U+20BB7 𠮷",
            "row 53, column 3 (byte 1197): expected a character of cp932, found U+E000 PRIVATE USE (外字)",
            "row 54, column 3 (byte 1217): expected a character of cp932, found U+E0100 VARIATION SELECTOR-17",
        ])
        let unicode = perform(.init(file: path, encoding: .utf8, newline: .lf, characters: .unicode))
        #expect(unicode.failure == nil)
        #expect(unicode.result.files.map(\.outcome) == [.checked])
        #expect(unicode.result.files.map(\.records) == [55])  // no header declared: row 1 is a record
    }

    /// One record per character that goes wrong between Windows and the JIS table, in a cp932 file
    /// written byte by byte: 〜 ‖ − ￠ ￡ ￢ (JIS X 0208 under Microsoft's names), ① ㈱ 髙 﨑
    /// (cp932 only) and 0xF040, the first 外字 (U+E000).
    static let trapCodes: [[UInt8]] = [
        [0x81, 0x60], [0x81, 0x61], [0x81, 0x7C], [0x81, 0x91], [0x81, 0x92], [0x81, 0xCA],
        [0x87, 0x40], [0x87, 0x8A], [0xFB, 0xFC], [0xFA, 0xB1], [0xF0, 0x40],
    ]

    /// `N,XX\r\n`: records 1–9 are 6 bytes (character at 6(N-1)+2), 10 and 11 are 7 (at 57 and 64).
    static var trapFile: [UInt8] {
        Self.trapCodes.enumerated().flatMap { index, code in Array("\(index + 1),".utf8) + code + [0x0D, 0x0A] }
    }

    @Test func trapCharactersInACP932File() throws {
        let files = try DataDirectory()
        let path = files.write("TRAP.csv", Self.trapFile)
        let jis = perform(.init(file: path, encoding: .cp932, newline: .crlf, columns: 2, characters: .jisx0208))
        #expect(jis.listed == [
            "row 7, column 2 (byte 38): expected a character of jisx0208, found U+2460 ①",
            "row 8, column 2 (byte 44): expected a character of jisx0208, found U+3231 ㈱",
            "row 9, column 2 (byte 50): expected a character of jisx0208, found U+9AD9 髙",
            "row 10, column 2 (byte 57): expected a character of jisx0208, found U+FA11 﨑",
            "row 11, column 2 (byte 64): expected a character of jisx0208, found U+E000 PRIVATE USE (外字)",
        ], "〜 ‖ − ￠ ￡ ￢ under Microsoft's names are still JIS X 0208")
        let cp932 = perform(.init(file: path, encoding: .cp932, newline: .crlf, columns: 2, characters: .cp932))
        #expect(cp932.listed == ["row 11, column 2 (byte 64): expected a character of cp932, found U+E000 PRIVATE USE (外字)"])
        let unicode = perform(.init(file: path, encoding: .cp932, newline: .crlf, columns: 2, characters: .unicode))
        #expect(unicode.failure == nil)
        #expect(unicode.result.files.first?.records == 11)
    }

    @Test func theSameBytesDeclaredShiftJISAreNotTextBeyondJISX0208() throws {
        let files = try DataDirectory()
        let path = files.write("TRAP.csv", Self.trapFile)
        let answer = perform(.init(file: path, encoding: .shiftJIS, newline: .crlf, characters: .jisx0208))
        // The six JIS X 0208 characters read (as the JIS table's 〜 ‖ − ¢ £ ¬) and are in the set.
        #expect(answer.listed.first == "row 7, column 2 (byte 38): expected text in shift_jis, found 0x87 0x40 is not a character in shift_jis (cp932 has U+2460 ① there: is the file cp932?)")
        #expect(answer.listed.map { String($0.prefix(while: { $0 != ":" })) }
                == ["row 7, column 2 (byte 38)", "row 8, column 2 (byte 44)", "row 9, column 2 (byte 50)", "row 10, column 2 (byte 57)", "row 11, column 2 (byte 64)"])
        #expect(answer.failure?.errorClass == .data)
    }

    @Test func anEUCJPFileWithJISX0212AndHalfWidthKatakana() throws {
        let files = try DataDirectory()
        // 1,山田\n (0–6) · 2,丂\n: 丂 is JIS X 0212, three bytes 0x8F 0xB0 0xA1, at 9 · 3,ｱｲｳ\n (13–): two bytes each, from 15.
        let path = files.write("EUC.csv", try iconv("1,山田\n2,丂\n3,ｱｲｳ\n", to: "EUC-JP"))
        let answer = perform(.init(file: path, encoding: .eucJP, newline: .lf, columns: 2, characters: .jisx0208))
        #expect(answer.listed == [
            "row 2, column 2 (byte 9): expected a character of jisx0208, found U+4E02 丂",
            "row 3, column 2 (byte 15): expected a character of jisx0208, found U+FF71 ｱ",
            "row 3, column 2 (byte 17): expected a character of jisx0208, found U+FF72 ｲ",
            "row 3, column 2 (byte 19): expected a character of jisx0208, found U+FF73 ｳ",
        ])
        #expect(answer.result.files.first?.records == 3)
        #expect(perform(.init(file: path, encoding: .eucJP, newline: .lf, columns: 2, characters: .unicode)).failure == nil)
        // A lead byte whose trail byte is not one: 0xB0 then ',' at 2.
        let bad = files.write("BAD.csv", [0x31, 0x2C, 0xB0, 0x2C, 0x32, 0x0A])
        #expect(perform(.init(file: bad, encoding: .eucJP, newline: .lf)).listed
                == ["row 1, column 2 (byte 2): expected text in euc-jp, found 0xB0 starts a character in euc-jp, but the next byte cannot continue it"])
    }

    // MARK: - Bytes that are not text

    @Test func invalidCP932BytesAreReportedAtTheirOffsets() throws {
        let files = try DataDirectory()
        // 1,ab\r\n (0–5) · 2,<0x80>c\r\n (6–11) · 3,<0x82 0x20>d\r\n (12–18) · 4,e<0x82> (19–22, the file's last byte)
        let bytes: [UInt8] = Array("1,ab\r\n2,".utf8) + [0x80] + Array("c\r\n3,".utf8) + [0x82, 0x20] + Array("d\r\n4,e".utf8) + [0x82]
        let path = files.write("BAD.csv", bytes)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf))
        #expect(answer.listed == [
            "row 2, column 2 (byte 8): expected text in cp932, found 0x80 cannot start a character in cp932",
            "row 3, column 2 (byte 14): expected text in cp932, found 0x82 starts a character in cp932, but the next byte cannot continue it",
            "row 4, column 2 (byte 22): expected text in cp932, found the text ends inside a character: 0x82 starts a character in cp932 that is never finished",
        ])
        #expect(answer.failure?.errorClass == .data)
        #expect(answer.result.files.first?.records == 4)
    }

    @Test func invalidUTF8IsReportedAtItsOffsetNeverReplaced() throws {
        let files = try DataDirectory()
        // a,<C3 28>\n (0–4) · b,<FF>\n (5–8) · c,<E3 81>\n (9–13) · d,<C0 AF>\n (14–18)
        let bytes: [UInt8] = [0x61, 0x2C, 0xC3, 0x28, 0x0A, 0x62, 0x2C, 0xFF, 0x0A, 0x63, 0x2C, 0xE3, 0x81, 0x0A, 0x64, 0x2C, 0xC0, 0xAF, 0x0A]
        let path = files.write("BAD.csv", bytes)
        let answer = perform(.init(file: path, encoding: .utf8, newline: .lf))
        #expect(answer.listed == [
            "row 1, column 2 (byte 2): expected text in utf-8, found 0xC3 starts a character in utf-8, but the next byte cannot continue it",
            "row 2, column 2 (byte 7): expected text in utf-8, found 0xFF never occurs in UTF-8 (is the file really utf-8?)",
            "row 3, column 2 (byte 11): expected text in utf-8, found the text ends inside a character: 0xE3 0x81 starts a character in utf-8 that is never finished",
            "row 4, column 2 (byte 16): expected text in utf-8, found 0xC0 0xAF is an overlong form of U+002F, which UTF-8 forbids",
        ])
        #expect(!answer.output.joined().contains("\u{FFFD}"))
    }

    @Test func aByteOrderMarkIsWhatUTF8BOMRequiresAndUTF8Refuses() throws {
        let files = try DataDirectory()
        let marked = files.write("BOM.csv", [0xEF, 0xBB, 0xBF] + Array("氏名,番号\r\n山田,1\r\n".utf8))
        #expect(perform(.init(file: marked, encoding: .utf8BOM, newline: .crlf, header: ["氏名", "番号"])).failure == nil)
        #expect(perform(.init(file: marked, encoding: .utf8, newline: .crlf)).listed
                == ["row 1, column 1 (byte 0): expected text in utf-8, found the text starts with a UTF-8 byte order mark (0xEF 0xBB 0xBF); if it is meant to, declare it utf-8-bom"])
        let plain = files.write("PLAIN.csv", Array("氏名,番号\r\n".utf8))
        #expect(perform(.init(file: plain, encoding: .utf8BOM, newline: .crlf)).listed
                == ["row 1, column 1 (byte 0): expected text in utf-8-bom, found utf-8-bom text must start with the byte order mark 0xEF 0xBB 0xBF, but it starts with 0xE6 0xB0 0x8F"])
    }

    // MARK: - CSV layout

    static let header = ["異動日", "住民番号", "氏名", "備考"]

    @Test func quotedCommasQuotesAndNewlinesAreOneRecordEach() throws {
        let files = try DataDirectory()
        let text = "異動日,住民番号,氏名,備考\r\n"
            + "20261201,1001,\"山田, 太郎\",転入\r\n"
            + "20261201,1002,\"佐藤\r\n花子\",\"\"\"特記\"\"事項\"\r\n"
            + "20261201,1003,鈴木一郎,\"複数\r\n行の\r\n備考\"\r\n"
            + "TRAILER,3\r\n"
        let path = files.write("IDO.csv", try iconv(text, to: "CP932"))
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: Self.header, columns: 4,
                                   count: .trailer(#"^TRAILER,(\d+)$"#), characters: .jisx0208))
        #expect(answer.failure == nil, "\(answer.output)")
        #expect(answer.result.files.first?.records == 3)
        #expect(answer.output == ["checked \(path): \(try iconv(text, to: "CP932").count) bytes, 3 records (3 declared), cp932 csv: as agreed"])
    }

    @Test func aHeaderThatDiffersNamesTheColumn() throws {
        let files = try DataDirectory()
        // 異動日 (6 bytes in cp932) , 住民番号 (8) , → the third field starts at byte 16.
        let path = files.write("IDO.csv", try iconv("異動日,住民番号,名前,備考\r\n20261201,1001,山田,転入\r\n", to: "CP932"))
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: Self.header))
        #expect(answer.listed == ["row 1, column 3 (byte 16): expected '氏名', found another value of 2 characters"])
        let short = files.write("SHORT.csv", try iconv("異動日,住民番号,氏名\r\n", to: "CP932"))
        #expect(perform(.init(file: short, encoding: .cp932, header: Self.header)).listed
                == ["row 1 (byte 0): expected a header of 4 fields (異動日,住民番号,氏名,備考), found 3 fields (a header missing? see the file's first line)"])
    }

    /// A file sent without its header has a resident's record where the header should be: none of
    /// it reaches the step's lines or its error line (which go to the journal, mail and reports).
    @Test func aMissingHeaderNeverQuotesTheRecordInItsPlace() throws {
        let files = try DataDirectory()
        let path = files.write("IDO.csv", try iconv("20261201,1001,山田太郎,転入\r\n20261201,1002,佐藤花子,転出\r\n", to: "CP932"))
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: Self.header))
        let failure = try #require(answer.failure)
        #expect(answer.listed.count == 4, "\(answer.listed)")
        for text in [failure.message] + answer.output + answer.listed {
            for value in ["山田太郎", "1001", "転入", "20261201"] { #expect(!text.contains(value), "\(value) in: \(text)") }
        }
        #expect(failure.message.contains("row 1, column 1 (byte 0): expected '異動日', found another value of 8 characters"), "\(failure.message)")
    }

    @Test func recordsOfTheWrongColumnCount() throws {
        let files = try DataDirectory()
        // a,b,c,d\n (0) · 1,2,3\n (8) · 1,2,3,4\n (14) · 1,2,3,4,5\n (22) · "1,2",3,4\n (32)
        let path = files.write("COLS.csv", Array("a,b,c,d\n1,2,3\n1,2,3,4\n1,2,3,4,5\n\"1,2\",3,4\n".utf8))
        let answer = perform(.init(file: path, encoding: .utf8, newline: .lf, columns: 4))
        #expect(answer.listed == [
            "row 2 (byte 8): expected 4 fields, found 3 fields",
            "row 4 (byte 22): expected 4 fields, found 5 fields",
            "row 5 (byte 32): expected 4 fields, found 3 fields",
        ])
        #expect(answer.result.files.first?.records == 5)
    }

    @Test func newlinesOtherThanAgreedAreReportedAtTheirOffsets() throws {
        let files = try DataDirectory()
        let mixed = files.write("MIXED.csv", Array("a,b\r\nc,d\ne,f\r\n".utf8))
        #expect(perform(.init(file: mixed, encoding: .utf8, newline: .crlf)).listed == ["row 2 (byte 8): expected CR LF, found LF alone"])
        #expect(perform(.init(file: mixed, encoding: .utf8, newline: .lf)).listed
                == ["row 1 (byte 3): expected LF, found CR LF", "row 3 (byte 12): expected LF, found CR LF"])
        #expect(perform(.init(file: mixed, encoding: .utf8, newline: .any)).failure == nil)
        let bare = files.write("BARE.csv", Array("a,b\rc,d\r\n".utf8))
        let answer = perform(.init(file: bare, encoding: .utf8, newline: .crlf))
        #expect(answer.listed == ["row 1 (byte 3): expected CR LF, found CR alone"])
        #expect(answer.result.files.first?.records == 1)
    }

    // MARK: - Fixed-length records

    /// A Zengin-like data record: 120 bytes in cp932, of which the name 山田太郎 takes 8 — so it is
    /// 116 characters.
    static func zenginRecord(_ number: Int, name: String = "山田太郎", length: Int = 120) throws -> (text: String, bytes: [UInt8]) {
        let start = "2" + "0001" + "123" + String(format: "%07d", number)
        let amount = "0000012000"
        let nameBytes = try iconv(name, to: "CP932")
        let padding = String(repeating: " ", count: length - start.utf8.count - nameBytes.count - amount.utf8.count)
        let text = start + name + padding + amount
        return (text, Array(start.utf8) + nameBytes + Array(padding.utf8) + Array(amount.utf8))
    }

    @Test func fixedLengthRecordsAreCountedInBytesOfTheFilesEncoding() throws {
        let files = try DataDirectory()
        let record = try Self.zenginRecord(1)
        #expect(record.bytes.count == 120)
        #expect(record.text.count == 116)
        var cp932: [UInt8] = []
        for number in 1...3 { cp932 += try Self.zenginRecord(number).bytes + [0x0D, 0x0A] }
        let path = files.write("ZENGIN.dat", cp932)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, format: .fixed, recordLength: 120, characters: .jisx0208))
        #expect(answer.failure == nil, "\(answer.output)")
        #expect(answer.result.files.first?.records == 3)
        // The same records in utf-8 are 124 bytes: the name takes 12.
        let utf8 = files.write("ZENGIN-UTF8.dat", Array((1...3).map { (try? Self.zenginRecord($0).text) ?? "" }.joined(separator: "\r\n").utf8) + [0x0D, 0x0A])
        #expect(perform(.init(file: utf8, encoding: .utf8, newline: .crlf, format: .fixed, recordLength: 120)).listed == [
            "row 1 (byte 0): expected 120 bytes, found 124 bytes",
            "row 2 (byte 126): expected 120 bytes, found 124 bytes",
            "row 3 (byte 252): expected 120 bytes, found 124 bytes",
        ])
    }

    @Test func fixedLengthRecordsOfTheWrongLength() throws {
        let files = try DataDirectory()
        var withNewlines: [UInt8] = []
        for number in 1...3 { withNewlines += try Self.zenginRecord(number).bytes + [0x0D, 0x0A] }
        withNewlines += try Self.zenginRecord(4, length: 119).bytes + [0x0D, 0x0A]  // at 3 × 122 = 366
        let lines = files.write("LINES.dat", withNewlines)
        let answer = perform(.init(file: lines, encoding: .cp932, newline: .crlf, format: .fixed, recordLength: 120))
        #expect(answer.listed == ["row 4 (byte 366): expected 120 bytes, found 119 bytes"])
        #expect(answer.result.files.first?.records == 4)

        // Back to back, a record cut short at the end of the file.
        let cut = try Self.zenginRecord(1).bytes + Self.zenginRecord(2).bytes + Self.zenginRecord(3).bytes.prefix(50)
        let path = files.write("CUT.dat", cut)
        let backToBack = perform(.init(file: path, encoding: .cp932, newline: .none, format: .fixed, recordLength: 120))
        #expect(backToBack.listed == ["row 3 (byte 240): expected 120 bytes, found 50 bytes at the end of the file"])
    }

    // MARK: - Declared counts and totals

    /// A header, 517 records whose third column is 10 × the record's number, and `trailer`.
    static func countedFile(trailer: String) throws -> (bytes: [UInt8], trailerOffset: Int) {
        var text = "番号,氏名,金額\r\n"
        for number in 1...517 { text += "\(number),山田,\(number * 10)\r\n" }
        let body = try iconv(text, to: "CP932")
        return (body + Array((trailer + "\r\n").utf8), body.count)
    }

    /// 10 × (1 + … + 517).
    static let total = 10 * 517 * 518 / 2

    @Test func aTrailerCountThatDiffersShowsBothFigures() throws {
        let files = try DataDirectory()
        let path = files.write("IDO.csv", try Self.countedFile(trailer: "TRAILER,1034,\(Self.total)").bytes)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: ["番号", "氏名", "金額"], columns: 3,
                                   count: .trailer(#"^TRAILER,(\d+),\d+$"#), sum: .init(column: 3, declared: .trailer(#"^TRAILER,\d+,(\d+)$"#))))
        #expect(answer.listed == ["expected 1034 records (as the trailer declares), found 517 records"])
        #expect(answer.failure == .init(errorClass: .data, message: "IDO.csv breaks its contract: 1 problem; expected 1034 records (as the trailer declares), found 517 records"))
        #expect(answer.result.files.first?.records == 517)

        let right = files.write("RIGHT.csv", try Self.countedFile(trailer: "TRAILER,517,\(Self.total)").bytes)
        let fine = perform(.init(file: right, encoding: .cp932, newline: .crlf, header: ["番号", "氏名", "金額"], columns: 3,
                                 count: .trailer(#"^TRAILER,(\d+),\d+$"#), sum: .init(column: 3, declared: .trailer(#"^TRAILER,\d+,(\d+)$"#))))
        #expect(fine.failure == nil, "\(fine.output)")
        #expect(fine.output.first?.hasSuffix("517 records (517 declared), column total 1339030 (1339030 declared), cp932 csv: as agreed") == true)
    }

    @Test func aSumThatDiffersShowsBothFigures() throws {
        let files = try DataDirectory()
        let path = files.write("IDO.csv", try Self.countedFile(trailer: "TRAILER,517,1339000").bytes)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: ["番号", "氏名", "金額"],
                                   count: .trailer(#"^TRAILER,(\d+),\d+$"#), sum: .init(column: 3, declared: .trailer(#"^TRAILER,\d+,(\d+)$"#))))
        #expect(answer.listed == ["expected a total of 1339000 in column 3 (as the trailer declares), found 1339030"])
    }

    @Test func aControlFileDeclaresTheCount() throws {
        let files = try DataDirectory()
        var text = "番号,氏名,金額\r\n"
        for number in 1...517 { text += "\(number),山田,\(number * 10)\r\n" }
        let path = files.write("IDO.csv", try iconv(text, to: "CP932"))
        let right = files.write("IDO.ctl", Array("COUNT=517\n".utf8))
        #expect(perform(.init(file: path, encoding: .cp932, header: ["番号", "氏名", "金額"], count: .controlFile(right))).failure == nil)
        let wrong = files.write("WRONG.ctl", Array("1034\n".utf8))
        #expect(perform(.init(file: path, encoding: .cp932, header: ["番号", "氏名", "金額"], count: .controlFile(wrong))).listed
                == ["expected 1034 records (as the control file \(wrong) declares), found 517 records"])
        let total = files.write("TOTAL.ctl", Array("合計 1339000\n".utf8))
        #expect(perform(.init(file: path, encoding: .cp932, header: ["番号", "氏名", "金額"], sum: .init(column: 3, declared: .controlFile(total)))).listed
                == ["expected a total of 1339000 in column 3 (as the control file \(total) declares), found 1339030"])
        let missing = files.path("NONE.ctl")
        #expect(perform(.init(file: path, encoding: .cp932, count: .controlFile(missing))).listed
                == ["expected the control file \(missing), found No such file or directory"])
    }

    @Test func aLastRecordThatIsNotTheTrailer() throws {
        let files = try DataDirectory()
        let (bytes, offset) = try Self.countedFile(trailer: "TRAILER;517")
        let path = files.write("IDO.csv", bytes)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: ["番号", "氏名", "金額"], count: .trailer(#"^TRAILER,(\d+)$"#)))
        // The header, 517 records, then the record that should have been the trailer: row 519.
        #expect(answer.listed == [#"row 519 (byte \#(offset)): expected a last record (trailer) matching ^TRAILER,(\d+)$, found a record that does not"#])
        #expect(answer.failure?.errorClass == .data)
    }

    // MARK: - Many problems, one pass

    @Test func twentyAreListedAndAllAreCounted() throws {
        let files = try DataDirectory()
        var text = "a,b,c,d\n"
        for number in 1...35 { text += "\(number),x,y\n" }
        let path = files.write("MANY.csv", Array(text.utf8))
        let answer = perform(.init(file: path, encoding: .utf8, newline: .lf, columns: 4))
        #expect(answer.result.findings?.count == 35)
        #expect(answer.listed.count == 20)
        #expect(answer.listed.first == "row 2 (byte 8): expected 4 fields, found 3 fields")
        #expect(answer.listed.last?.hasPrefix("row 21 ") == true)
        #expect(answer.output.first == "\(path) breaks its contract: 35 problems (36 records); the first 20:")
        #expect(answer.output.count == 22)
        #expect(answer.output.last == "  … and 15 more")
        #expect(answer.failure?.message.hasPrefix("MANY.csv breaks its contract: 35 problems; first: row 2 (byte 8)") == true)
    }

    @Test func aDeclaredCountThatDiffersIsListedAndNamedEvenAfterTwentyOtherProblems() throws {
        let files = try DataDirectory()
        var text = "a,b,c,d\n"
        for number in 1...35 { text += "\(number),x,y\n" }
        text += "TRAILER,99\n"
        let path = files.write("MANY.csv", Array(text.utf8))
        let answer = perform(.init(file: path, encoding: .utf8, newline: .lf, columns: 4, count: .trailer(#"^TRAILER,(\d+)$"#)))
        #expect(answer.result.findings?.count == 36)
        #expect(answer.listed.count == 20)
        #expect(answer.listed.last == "expected 99 records (as the trailer declares), found 36 records")
        #expect(answer.failure?.message == "MANY.csv breaks its contract: 36 problems; above all: expected 99 records (as the trailer declares), found 36 records")
    }

    @Test func everyKindOfProblemIsFoundInOnePass() throws {
        let files = try DataDirectory()
        // A header, a bad byte, a record of 2 fields, an LF alone and a trailer that miscounts.
        let text: [UInt8] = try iconv("番号,氏名,金額\r\n", to: "CP932")  // 0–15
            + Array("1,".utf8) + [0x80] + Array(",10\r\n".utf8)          // 0x80 at 18
            + Array("2,x\r\n".utf8)                                        // at 24: 2 fields
            + Array("3,y,30\n".utf8)                                       // at 29, its LF alone at 35
            + Array("TRAILER,5\r\n".utf8)
        let path = files.write("IDO.csv", text)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: ["番号", "氏名", "金額"], columns: 3, count: .trailer(#"^TRAILER,(\d+)$"#)))
        #expect(Set(answer.listed) == [
            "row 2, column 2 (byte 18): expected text in cp932, found 0x80 cannot start a character in cp932",
            "row 3 (byte 24): expected 3 fields, found 2 fields",
            "row 4 (byte 35): expected CR LF, found LF alone",
            "expected 5 records (as the trailer declares), found 3 records",
        ])
        #expect(answer.result.findings?.count == 4)
    }

    @Test func oneRecordWithMoreProblemsThanAreListedCountsThemAll() throws {
        let files = try DataDirectory()
        // One record holding 30 bare CRs (an old Mac file checked as crlf) and 30 bytes that are not cp932.
        let bytes: [UInt8] = Array(repeating: Array("a\r".utf8), count: 30).flatMap { $0 } + Array(repeating: UInt8(0x80), count: 30) + [0x0D, 0x0A]
        let path = files.write("CR.csv", bytes)
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf))
        #expect(answer.result.findings?.count == 60)
        #expect(answer.listed.count == 20)
        #expect(answer.listed.first == "row 1 (byte 1): expected CR LF, found CR alone")
        #expect(answer.output.last == "  … and 40 more")
    }

    // MARK: - The file itself

    @Test func theAnswerCarriesTheFilesSizeAndHash() throws {
        let files = try DataDirectory()
        let path = files.write("IDO.csv", try iconv("番号,氏名\r\n1,山田\r\n", to: "CP932"))
        let answer = perform(.init(file: path, encoding: .cp932, newline: .crlf, header: ["番号", "氏名"]))
        let file = try #require(answer.result.files.first)
        #expect(file.path == path)
        #expect(file.bytes == 19)
        #expect(file.sha256 == sha256sum(path))
        #expect(file.records == 1)
        #expect(file.outcome == .checked)
    }

    @Test func aMissingFileIsTheDatasFault() throws {
        let files = try DataDirectory()
        let answer = perform(.init(file: files.path("NONE.csv"), encoding: .cp932))
        #expect(answer.failure?.errorClass == .data)
        #expect(answer.failure?.message == "cannot read \(files.path("NONE.csv")) to check it: No such file or directory")
    }
}
