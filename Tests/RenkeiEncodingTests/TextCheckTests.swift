import Testing
@testable import RenkeiEncoding

/// `TextDecoder.check`: what a `check` step reports — bad bytes and characters outside a repertoire,
/// each with its position — and nothing else.
@Suite struct TextCheckTests {
    func check(_ bytes: [UInt8], as encoding: TextEncoding, characters: CharacterRepertoire, byteByByte: Bool = false) -> [TextDecoder.Event] {
        var decoder = TextDecoder(encoding)
        var events: [TextDecoder.Event] = []
        if byteByByte {
            for byte in bytes { decoder.check([byte], characters: characters) { events.append($0) } }
        } else {
            decoder.check(bytes, characters: characters) { events.append($0) }
        }
        decoder.finish(characters: characters) { events.append($0) }
        return events
    }

    @Test func reportsTheCharactersOutsideJISX0208WithTheirPositions() throws {
        let text = try #require(encode("髙橋①\r\nｱ〜～\u{E000}", as: .cp932)) + [0x80]
        #expect(check(text, as: .cp932, characters: .jisx0208) == [
            .scalar("髙", TextPosition(offset: 0, line: 1, column: 1)),
            .scalar("①", TextPosition(offset: 4, line: 1, column: 3)),
            .scalar("ｱ", TextPosition(offset: 8, line: 2, column: 1)),
            .scalar("\u{E000}", TextPosition(offset: 13, line: 2, column: 4)),
            .problem(DecodingProblem(kind: .invalidByte, encoding: .cp932, position: TextPosition(offset: 15, line: 2, column: 5), bytes: [0x80])),
        ])
        #expect(check(text, as: .cp932, characters: .cp932).count == 2)  // 外字 and the bad byte
        #expect(check(text, as: .cp932, characters: .unicode).count == 1)
    }

    @Test func acceptsJISX0213sSemiVoicedKanaOnlyWhole() {
        let text = Array("か\u{309A}あ\u{309A}".utf8)
        for byteByByte in [false, true] {
            #expect(check(text, as: .utf8, characters: .jisx0213, byteByByte: byteByByte) == [.scalar("\u{309A}", TextPosition(offset: 9, line: 1, column: 4))])
        }
        // After a bad byte there is no kana before the mark.
        #expect(check(Array("か".utf8) + [0xFF] + Array("\u{309A}".utf8), as: .utf8, characters: .jisx0213).count == 2)
    }

    @Test(arguments: [TextEncoding.utf8, .cp932, .eucJP], CharacterRepertoire.allCases)
    func reportsWhatTheRepertoireRefusesOfEveryScalarDecoded(_ encoding: TextEncoding, _ repertoire: CharacterRepertoire) {
        var random = SplitMix64(seed: 0xC4EC)
        for round in 0..<30 {
            let text = RandomText.make(encoding, badBytes: round % 3, using: &random)
            var previous: Unicode.Scalar?
            let expected = decode(text, as: encoding).filter { event in
                switch event {
                case .problem:
                    previous = nil
                    return true
                case .scalar(let scalar, _):
                    defer { previous = scalar }
                    return !repertoire.contains(scalar, after: previous)
                }
            }
            #expect(check(text, as: encoding, characters: repertoire) == expected, "\(hex(text))")
            #expect(check(text, as: encoding, characters: repertoire, byteByByte: true) == expected, "\(hex(text))")
        }
    }
}
