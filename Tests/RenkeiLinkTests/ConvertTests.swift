import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiLink
import RenkeiEncoding

/// `convert:` end to end on files: the right table for each encoding, never lossy without saying
/// so, invalid input always an error at its byte offset, nothing left under the target's name
/// when it fails, and newlines as asked — by both of its ways (the fast converter with
/// `unmappable: fail`, a character at a time with `substitute`).
@Suite struct ConvertTests {
    static func request(_ source: String, _ target: String, from: LinkStep.Encoding, to: LinkStep.Encoding, newline: LinkStep.NewlineConversion = .keep,
                        unmappable: LinkStep.Unmappable = .fail, substitutions: [UInt32: String] = [:]) -> LinkRequest.Convert {
        LinkRequest.Convert(source: source, target: target, from: from, toEncoding: to, newline: newline, unmappable: unmappable, substitutions: substitutions)
    }

    // MARK: - Round trip

    /// Every two-byte code cp932 has a character at (9,604, 外字 included), 94 to a line, and what
    /// glibc's iconv reads them as; then the same written back by iconv, which picks the one code
    /// Windows writes for a character that has two (the NEC-selected IBM duplicates).
    static func everyCP932Character() throws -> (all: [UInt8], canonical: [UInt8], utf8: [UInt8]) {
        var all: [UInt8] = []
        var inLine = 0
        for lead in Array(0x81...0x9F) + Array(0xE0...0xFC) {
            for trail in Array(0x40...0x7E) + Array(0x80...0xFC) {
                let code = [UInt8(lead), UInt8(trail)]
                // Which codes hold a character, Renkei's decoder says (one iconv per code would take
                // minutes); iconv below refuses the whole file if it disagrees about any of them.
                var isCharacter = false
                var decoder = TextDecoder(.cp932)
                decoder.decode(code) { if case .scalar = $0 { isCharacter = true } }
                guard isCharacter else { continue }
                all += code
                inLine += 1
                if inLine == 94 { all += [0x0D, 0x0A]; inLine = 0 }
            }
        }
        let utf8 = try iconv(all, from: "CP932", to: "UTF-8")
        return (all, try iconv(utf8, from: "UTF-8", to: "CP932"), utf8)
    }

    @Test func cp932ToUTF8AndBackIsByteIdentical() throws {
        let files = try DataDirectory()
        let (all, canonical, utf8) = try Self.everyCP932Character()
        #expect(all.count == 2 * 9_604 + 2 * (9_604 / 94))
        let source = files.write("ALL.csv", all)
        let toUTF8 = perform(Self.request(source, files.path("out/ALL.utf8.csv"), from: .cp932, to: .utf8))
        #expect(toUTF8.failure == nil, "\(toUTF8.output)")
        #expect(files.contents(files.path("out/ALL.utf8.csv")) == utf8, "as glibc's iconv reads cp932")

        let canonicalSource = files.write("CANONICAL.csv", canonical)
        _ = perform(Self.request(canonicalSource, files.path("out/C.utf8.csv"), from: .cp932, to: .utf8))
        let back = perform(Self.request(files.path("out/C.utf8.csv"), files.path("out/C.cp932.csv"), from: .utf8, to: .cp932))
        #expect(back.failure == nil, "\(back.output)")
        #expect(files.contents(files.path("out/C.cp932.csv")) == canonical)

        let file = try #require(back.result.files.first)
        #expect(file.direction == .converted)
        #expect(file.outcome == .converted)
        #expect(file.path == files.path("out/C.cp932.csv"))
        #expect(file.source == files.path("out/C.utf8.csv"))
        #expect(file.bytes == Int64(canonical.count))
        #expect(file.sha256 == sha256sum(files.path("out/C.cp932.csv")))
        #expect(file.sourceSHA256 == sha256sum(files.path("out/C.utf8.csv")))
        #expect(file.records == nil, "the store carries the checked file's count over")
    }

    // MARK: - The traps, both ways

    /// 〜 ‖ − ￠ ￡ ￢ at the same six Shift_JIS codes, as Windows names them and as the JIS table does.
    static let trapBytes: [UInt8] = [0x81, 0x60, 0x81, 0x61, 0x81, 0x7C, 0x81, 0x91, 0x81, 0x92, 0x81, 0xCA, 0x0D, 0x0A]
    static let microsoftNames = "\u{FF5E}\u{2225}\u{FF0D}\u{FFE0}\u{FFE1}\u{FFE2}\r\n"
    static let jisNames = "\u{301C}\u{2016}\u{2212}\u{00A2}\u{00A3}\u{00AC}\r\n"

    @Test func cp932ReadsMicrosoftsTableAndShiftJISReadsTheJISTable() throws {
        let files = try DataDirectory()
        let source = files.write("TRAP.csv", Self.trapBytes)
        #expect(perform(Self.request(source, files.path("cp932.txt"), from: .cp932, to: .utf8)).failure == nil)
        #expect(files.contents(files.path("cp932.txt")) == Array(Self.microsoftNames.utf8))
        #expect(perform(Self.request(source, files.path("sjis.txt"), from: .shiftJIS, to: .utf8)).failure == nil)
        #expect(files.contents(files.path("sjis.txt")) == Array(Self.jisNames.utf8))
        // EUC-JP has them at its own codes, whichever table they were read with.
        #expect(perform(Self.request(source, files.path("euc.txt"), from: .cp932, to: .eucJP)).failure == nil)
        #expect(files.contents(files.path("euc.txt")) == [0xA1, 0xC1, 0xA1, 0xC2, 0xA1, 0xDD, 0xA1, 0xF1, 0xA1, 0xF2, 0xA2, 0xCC, 0x0D, 0x0A])
    }

    @Test(arguments: [LinkStep.Encoding.cp932, .shiftJIS])
    func eitherNameIsWrittenAtTheOneCode(_ target: LinkStep.Encoding) throws {
        let files = try DataDirectory()
        for (index, names) in [Self.microsoftNames, Self.jisNames].enumerated() {
            let source = files.write("names\(index).txt", Array(names.utf8))
            let answer = perform(Self.request(source, files.path("out\(index).csv"), from: .utf8, to: target))
            #expect(answer.failure == nil, "\(answer.output)")
            #expect(files.contents(files.path("out\(index).csv")) == Self.trapBytes)
        }
    }

    @Test func theExtensionsAreCP932Only() throws {
        let files = try DataDirectory()
        // ① ㈱ 髙 﨑 in cp932.
        let source = files.write("EXT.csv", [0x87, 0x40, 0x87, 0x8A, 0xFB, 0xFC, 0xFA, 0xB1, 0x0D, 0x0A])
        #expect(perform(Self.request(source, files.path("ext.txt"), from: .cp932, to: .utf8)).failure == nil)
        #expect(files.contents(files.path("ext.txt")) == Array("①㈱髙﨑\r\n".utf8))
        // The same bytes declared shift_jis are not text: the step says where, and what cp932 has there.
        let misdeclared = perform(Self.request(source, files.path("sjis.txt"), from: .shiftJIS, to: .utf8))
        #expect(misdeclared.failure == .init(errorClass: .data, message: "EXT.csv could not be converted from shift_jis to utf-8: line 1, column 1 (byte offset 0): 0x87 0x40 is not a character in shift_jis (cp932 has U+2460 ① there: is the file cp932?)"))
        // And shift_jis cannot write them.
        let toShiftJIS = perform(Self.request(files.path("ext.txt"), files.path("ext.sjis"), from: .utf8, to: .shiftJIS))
        #expect(toShiftJIS.failure == .init(errorClass: .data, message: "ext.txt could not be converted from utf-8 to shift_jis: line 1, column 1 (byte offset 0): U+2460 ① cannot be written in shift_jis (cp932 can: it is a Microsoft, NEC or IBM extension of JIS X 0208)"))
        #expect(!FileManager.default.fileExists(atPath: files.path("ext.sjis")))
    }

    @Test func eucJPBothWaysAsGlibcHasIt() throws {
        let files = try DataDirectory()
        // JIS X 0208, JIS X 0212 (丂, three bytes) and half-width katakana (two bytes).
        let text = "1,山田太郎\r\n2,丂\r\n3,ｶﾀｶﾅ\r\n"
        let source = files.write("EUC.csv", try iconv(text, to: "EUC-JP"))
        #expect(perform(Self.request(source, files.path("EUC.utf8"), from: .eucJP, to: .utf8)).failure == nil)
        #expect(files.contents(files.path("EUC.utf8")) == Array(text.utf8))
        #expect(perform(Self.request(files.path("EUC.utf8"), files.path("EUC.back"), from: .utf8, to: .eucJP)).failure == nil)
        #expect(files.contents(files.path("EUC.back")) == files.contents(source))
        // cp932 has no 丂.
        let toCP932 = perform(Self.request(source, files.path("EUC.cp932"), from: .eucJP, to: .cp932))
        #expect(toCP932.failure?.message == "EUC.csv could not be converted from euc-jp to cp932: line 2, column 3 (byte offset 14): U+4E02 丂 cannot be written in cp932")
    }

    // MARK: - Unmappable characters

    @Test func unmappableFailNamesTheLineColumnAndCodePointAndLeavesNothing() throws {
        let files = try DataDirectory()
        // 番号,氏名\n (14 bytes) · 1,山田\n (9) · 2,𠮷田\n: 𠮷 at byte 25, line 3, column 3.
        let source = files.write("IDO.csv", Array("番号,氏名\n1,山田\n2,𠮷田\n".utf8))
        let target = files.path("out/IDO.csv")
        let answer = perform(Self.request(source, target, from: .utf8, to: .cp932))
        #expect(answer.failure == .init(errorClass: .data, message: "IDO.csv could not be converted from utf-8 to cp932: line 3, column 3 (byte offset 25): U+20BB7 𠮷 cannot be written in cp932 (beyond the Basic Multilingual Plane, where no Shift_JIS or EUC-JP character is)"))
        #expect(answer.result.files.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(files.names() == ["IDO.csv", "out"], "no partial or temporary file is left")
    }

    @Test func substituteAppliesTheTableAndListsEverySubstitution() throws {
        let files = try DataDirectory()
        // 1,𠮷田\n (0–9: 𠮷 at 2) · 2,葛󠄀城\n (10–22: the selector at 15) · 3,<U+E000>川\n (23–31: at 25) · 4,髙橋\n (32–: 髙 at 34)
        let source = files.write("IDO.csv", Array("1,𠮷田\n2,葛\u{E0100}城\n3,\u{E000}川\n4,髙橋\n".utf8))
        let target = files.path("out/IDO.csv")
        let answer = perform(Self.request(source, target, from: .utf8, to: .shiftJIS, unmappable: .substitute,
                                          substitutions: [0x20BB7: "吉", 0x9AD9: "高"]))
        #expect(answer.failure == nil, "\(answer.output)")
        #expect(files.contents(target) == (try iconv("1,吉田\n2,葛〓城\n3,〓川\n4,高橋\n", to: "SHIFT_JIS")))
        let listed = [
            "line 1, column 3 (byte 2): U+20BB7 𠮷 → 吉",
            "line 2, column 4 (byte 15): U+E0100 VARIATION SELECTOR-17 → 〓 (not in the substitution table)",
            "line 3, column 3 (byte 25): U+E000 PRIVATE USE (外字) → 〓 (not in the substitution table)",
            "line 4, column 3 (byte 34): U+9AD9 髙 → 高",
        ]
        #expect(answer.result.findings == .init(count: 4, listed: listed))
        #expect(answer.output.first?.hasSuffix(", 4 substitutions:") == true)
        #expect(Array(answer.output.dropFirst()) == listed.map { "  " + $0 })
        #expect(answer.result.files.first?.note == "utf-8 → shift_jis, newlines keep; 4 characters substituted")
    }

    @Test func moreThanTwentySubstitutionsAreAllCounted() throws {
        let files = try DataDirectory()
        let source = files.write("IDO.csv", Array((1...25).map { "\($0),𠮷田\r\n" }.joined().utf8))
        let answer = perform(Self.request(source, files.path("IDO.sjis"), from: .utf8, to: .cp932, unmappable: .substitute, substitutions: [0x20BB7: "吉"]))
        #expect(answer.result.findings?.count == 25)
        #expect(answer.listed.count == 20)
        #expect(answer.listed.last == "line 20, column 4 (byte 222): U+20BB7 𠮷 → 吉")
        #expect(answer.output.last == "  … and 5 more")

    }

    @Test func aSubstitutionTheTargetCannotWriteEitherFails() throws {
        let files = try DataDirectory()
        let source = files.write("IDO.csv", Array("1,𠮷田\n".utf8))
        let answer = perform(Self.request(source, files.path("IDO.sjis"), from: .utf8, to: .shiftJIS, unmappable: .substitute, substitutions: [0x20BB7: "髙"]))
        #expect(answer.failure?.errorClass == .data)
        #expect(answer.failure?.message.contains("the substitution for U+20BB7 𠮷, U+9AD9 髙, cannot be written in shift_jis either") == true)
        #expect(!FileManager.default.fileExists(atPath: files.path("IDO.sjis")))
    }

    // MARK: - Bytes that are not text

    @Test(arguments: [LinkStep.Unmappable.fail, .substitute])
    func invalidInputIsAnErrorAtItsByteOffsetNeverReplaced(_ unmappable: LinkStep.Unmappable) throws {
        let files = try DataDirectory()
        // 1,山田\r\n (0–7) · 2,<0x80>\r\n: 0x80 at byte 10, line 2, column 3.
        let source = files.write("IDO.csv", try iconv("1,山田\r\n2,", to: "CP932") + [0x80, 0x0D, 0x0A])
        let target = files.path("IDO.utf8")
        let answer = perform(Self.request(source, target, from: .cp932, to: .utf8, unmappable: unmappable))
        #expect(answer.failure == .init(errorClass: .data, message: "IDO.csv could not be converted from cp932 to utf-8: line 2, column 3 (byte offset 10): 0x80 cannot start a character in cp932"))
        #expect(!FileManager.default.fileExists(atPath: target))

        let utf8 = files.write("BAD.txt", [0x61, 0x0A, 0x62, 0xE3, 0x81, 0x0A])
        let broken = perform(Self.request(utf8, files.path("BAD.sjis"), from: .utf8, to: .shiftJIS, unmappable: unmappable))
        #expect(broken.failure?.message == "BAD.txt could not be converted from utf-8 to shift_jis: line 2, column 2 (byte offset 3): 0xE3 0x81 starts a character in utf-8, but the next byte cannot continue it")
        let cut = files.write("CUT.txt", [0x61, 0x0A, 0xE3, 0x81])
        let truncated = perform(Self.request(cut, files.path("CUT.sjis"), from: .utf8, to: .cp932, unmappable: unmappable))
        #expect(truncated.failure?.message == "CUT.txt could not be converted from utf-8 to cp932: line 2, column 1 (byte offset 2): the text ends inside a character: 0xE3 0x81 starts a character in utf-8 that is never finished")
        #expect(files.names() == ["BAD.txt", "CUT.txt", "IDO.csv"])
    }

    // MARK: - Newlines

    static let mixedNewlines = "1,山田\r\n2,佐藤\n3,鈴木\r4,田中\r\n"

    @Test(arguments: [LinkStep.Unmappable.fail, .substitute], [LinkStep.NewlineConversion.keep, .lf, .crlf])
    func newlinesAsAsked(_ unmappable: LinkStep.Unmappable, _ newline: LinkStep.NewlineConversion) throws {
        let files = try DataDirectory()
        let source = files.write("IDO.csv", try iconv(Self.mixedNewlines, to: "CP932"))
        let target = files.path("IDO.utf8")
        let answer = perform(Self.request(source, target, from: .cp932, to: .utf8, newline: newline, unmappable: unmappable))
        #expect(answer.failure == nil)
        // A lone CR is not a line ending: it stays as it is.
        let expected = switch newline {
        case .keep: Self.mixedNewlines
        case .lf: "1,山田\n2,佐藤\n3,鈴木\r4,田中\n"
        case .crlf: "1,山田\r\n2,佐藤\r\n3,鈴木\r4,田中\r\n"
        }
        #expect(files.contents(target) == Array(expected.utf8))
    }

    /// Files are read in chunks of `FileCheck.chunkSize`: a CR LF and a two-byte character that
    /// straddle a chunk's end must come out as if the file were one piece.
    @Test(arguments: [LinkStep.Unmappable.fail, .substitute])
    func whatStraddlesAChunksEndIsConvertedWhole(_ unmappable: LinkStep.Unmappable) throws {
        let files = try DataDirectory()
        let chunk = FileCheck.chunkSize
        // Lines of 14 bytes in cp932 (`1234567,山田\r\n` is 7 + 1 + 4 + 2); one short line puts the
        // first chunk's end between a CR and its LF, a longer one a later chunk's inside 田.
        var bytes: [UInt8] = []
        let line = try iconv("1234567,山田\r\n", to: "CP932")
        while bytes.count + line.count <= chunk - 1 { bytes += line }
        bytes += Array(repeating: 0x41, count: chunk - 1 - bytes.count) + [0x0D, 0x0A]  // the CR is the chunk's last byte
        while bytes.count + line.count <= 2 * chunk - 11 { bytes += line }
        let pad = 2 * chunk - 11 - bytes.count
        bytes += Array(repeating: 0x42, count: pad) + Array(line.prefix(11)) + Array(line.suffix(3))  // 田's lead byte ends the chunk
        #expect(bytes[chunk - 1] == 0x0D && bytes[chunk] == 0x0A)
        #expect(bytes[2 * chunk - 1] == 0x93 && bytes[2 * chunk] == 0x63, "田 is 0x93 0x63 in cp932")
        let source = files.write("BIG.csv", bytes)
        let target = files.path("BIG.utf8")
        let answer = perform(Self.request(source, target, from: .cp932, to: .utf8, newline: .lf, unmappable: unmappable))
        #expect(answer.failure == nil, "\(answer.output)")
        let expected = try iconv(bytes, from: "CP932", to: "UTF-8").filter { $0 != 0x0D }
        #expect(files.contents(target) == expected)

        // check reads it alike: every record whole, no newline problem at the chunk's end.
        let checked = perform(.init(file: source, encoding: .cp932, newline: .crlf, columns: 2))
        let lines = bytes.filter { $0 == 0x0A }.count
        #expect(checked.result.files.first?.records == Int64(lines))
        #expect(checked.listed == ["row \(chunk / 14 + 1) (byte \(chunk / 14 * 14)): expected 2 fields, found 1 fields"], "only the padding line, which has no comma")
    }

    // MARK: - What the step leaves

    @Test func aConversionReplacesNothingUntilItHasSucceeded() throws {
        let files = try DataDirectory()
        let target = files.path("IDO.sjis")
        let good = files.write("GOOD.csv", Array("1,山田\n".utf8))
        #expect(perform(Self.request(good, target, from: .utf8, to: .shiftJIS)).failure == nil)
        let before = files.contents(target)
        #expect(before == (try iconv("1,山田\n", to: "SHIFT_JIS")))
        // A conversion that fails half-way never puts a partial file under the target's name.
        let bad = files.write("BAD.csv", Array("1,山田\n2,𠮷田\n".utf8))
        #expect(perform(Self.request(bad, target, from: .utf8, to: .shiftJIS)).failure?.errorClass == .data)
        #expect(files.contents(target) == before)
        #expect(!FileManager.default.fileExists(atPath: target + ".renkei-tmp"))
    }

    @Test func aMissingSourceIsAnError() throws {
        let files = try DataDirectory()
        let answer = perform(Self.request(files.path("NONE.csv"), files.path("out.csv"), from: .cp932, to: .utf8))
        #expect(answer.failure?.message == "cannot read \(files.path("NONE.csv")) to convert it: No such file or directory")
    }
}
