import Testing
@testable import RenkeiEncoding

/// Files are read in chunks of any size: a character, a CR LF or a byte order mark split between two
/// chunks must read and convert exactly as in one piece. Random texts (a fixed seed, so a failure
/// repeats) against the decoder fed the whole text, and the converter against a plain reference
/// built from the decoder and the encoder.
@Suite struct ChunkingTests {
    static let encodings = [TextEncoding.utf8, .utf8BOM, .cp932, .shiftJIS, .eucJP]

    @Test(arguments: encodings)
    func decodingByteByByteReadsAsTheWhole(_ encoding: TextEncoding) {
        var random = SplitMix64(seed: 0x5EED)
        for round in 0..<40 {
            let text = RandomText.make(encoding, badBytes: round % 2 == 0 ? 0 : 3, using: &random)
            let whole = decode(text, as: encoding)
            #expect(decodeByteByByte(text, as: encoding) == whole, "\(hex(text))")
            var decoder = TextDecoder(encoding)
            var chunked: [TextDecoder.Event] = []
            var start = 0
            while start < text.count {
                let end = min(text.count, start + Int.random(in: 1...9, using: &random))
                decoder.decode(Array(text[start..<end])) { chunked.append($0) }
                start = end
            }
            decoder.finish { chunked.append($0) }
            #expect(chunked == whole)
        }
    }

    @Test(arguments: encodings, NewlineConversion.allCases)
    func convertingInChunksGivesWhatTheReferenceGives(_ source: TextEncoding, _ newlines: NewlineConversion) {
        var random = SplitMix64(seed: 0xC0FFEE)
        for round in 0..<24 {
            let text = RandomText.make(source, badBytes: round % 4 == 3 ? 1 : 0, using: &random)
            for target in Self.encodings {
                let expected = referenceConversion(text, from: source, to: target, newlines: newlines)
                for size in [1, 2, 3, 7, 8, 9, 17, 100_000] {
                    let actual = Result { () throws(ConversionProblem) in try convert(text, from: source, to: target, newlines: newlines, chunkSize: size) }
                    #expect(actual == expected, "\(source) → \(target), newlines \(newlines), chunks of \(size): \(hex(text))")
                }
            }
        }
    }

    @Test func aCRAtTheEndOfAChunkIsDroppedOnlyIfAnLFStartsTheNext() throws {
        var converter = try TextConverter(from: .cp932, to: .utf8, newlines: .lf)
        var output: [UInt8] = []
        try converter.convert([0x61, 0x0D], appendingTo: &output)
        try converter.convert([0x0A, 0x62, 0x0D], appendingTo: &output)
        try converter.convert([0x63, 0x0D], appendingTo: &output)
        try converter.finish(appendingTo: &output)
        #expect(output == [0x61, 0x0A, 0x62, 0x0D, 0x63, 0x0D])
        #expect(converter.position == TextPosition(offset: 7, line: 2, column: 5))
    }

    @Test func anLFAfterACRThatEndedTheLastChunkGetsNoSecondCR() throws {
        var converter = try TextConverter(from: .utf8, to: .cp932, newlines: .crlf)
        var output: [UInt8] = []
        try converter.convert([0x61, 0x0D], appendingTo: &output)
        try converter.convert([0x0A, 0x0A], appendingTo: &output)
        try converter.finish(appendingTo: &output)
        #expect(output == [0x61, 0x0D, 0x0A, 0x0D, 0x0A])
    }
}

/// The conversion as the decoder and the encoder do it, one scalar at a time, with line endings
/// changed on the scalars: what the converter's fast loops must equal.
func referenceConversion(_ bytes: [UInt8], from source: TextEncoding, to target: TextEncoding, newlines: NewlineConversion) -> Result<[UInt8], ConversionProblem> {
    let events = decode(bytes, as: source)
    var encoder = TextEncoder(target)
    var output: [UInt8] = []
    var previous: Unicode.Scalar?
    for (index, event) in events.enumerated() {
        switch event {
        case .problem(let problem):
            return .failure(.unreadable(problem))
        case .scalar(let scalar, let position):
            defer { previous = scalar }
            if newlines == .lf, scalar == "\r", index + 1 < events.count, case .scalar("\n", _) = events[index + 1] { continue }
            if newlines == .crlf, scalar == "\n", previous != "\r" { try! encoder.encode("\r", into: &output) }
            do {
                try encoder.encode(scalar, into: &output)
            } catch {
                return .failure(.unwritable(UnencodableCharacter(scalar: scalar, encoding: target, position: position)))
            }
        }
    }
    encoder.finish(into: &output)
    return .success(output)
}

/// Texts of ASCII runs (long enough for the eight-byte loop), line endings and the encoding's other
/// characters, with some bytes that are not text thrown in on request.
enum RandomText {
    static func make(_ encoding: TextEncoding, badBytes: Int, using random: inout SplitMix64) -> [UInt8] {
        var text: [UInt8] = encoding == .utf8BOM ? [0xEF, 0xBB, 0xBF] : []
        for _ in 0..<Int.random(in: 0...30, using: &random) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0...2:
                text += (0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
            case 3: text += [0x0D, 0x0A]
            case 4: text += [0x0A]
            case 5: text += [0x0D]
            default:
                text += character(of: encoding, using: &random)
            }
        }
        for _ in 0..<badBytes {
            let bad: UInt8 = encoding == .utf8 || encoding == .utf8BOM ? 0xFF : [0x80, 0xA0, 0xFF].randomElement(using: &random)!
            text.insert(bad, at: Int.random(in: 0...text.count, using: &random))
        }
        return text
    }

    static func character(of encoding: TextEncoding, using random: inout SplitMix64) -> [UInt8] {
        switch encoding {
        case .utf8, .utf8BOM:
            let ranges: [ClosedRange<UInt32>] = [0x80...0x7FF, 0x3000...0x9FFF, 0xE000...0xFFFD, 0x10000...0x10FFFF]
            let scalar = Unicode.Scalar(UInt32.random(in: ranges.randomElement(using: &random)!, using: &random))!
            return Array(String(scalar).utf8)
        default:
            let codes = Codes.of(encoding)
            return codes.randomElement(using: &random)!.bytes
        }
    }
}

/// A small seeded generator, so that a random test that fails fails again.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
