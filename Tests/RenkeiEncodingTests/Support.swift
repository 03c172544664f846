import Testing
@testable import RenkeiEncoding

/// What reading `bytes` as one whole text gives: its scalars and its problems, in order.
func decode(_ bytes: [UInt8], as encoding: TextEncoding) -> [TextDecoder.Event] {
    var decoder = TextDecoder(encoding)
    var events: [TextDecoder.Event] = []
    decoder.decode(bytes) { events.append($0) }
    decoder.finish { events.append($0) }
    return events
}

/// The same, fed one byte at a time: a character split anywhere must read the same.
func decodeByteByByte(_ bytes: [UInt8], as encoding: TextEncoding) -> [TextDecoder.Event] {
    var decoder = TextDecoder(encoding)
    var events: [TextDecoder.Event] = []
    for byte in bytes { decoder.decode([byte]) { events.append($0) } }
    decoder.finish { events.append($0) }
    return events
}

/// The scalars of a text that must read without problems.
func scalars(_ bytes: [UInt8], as encoding: TextEncoding, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt32] {
    decode(bytes, as: encoding).compactMap { event in
        switch event {
        case .scalar(let scalar, _): return scalar.value
        case .problem(let problem):
            Issue.record("unexpected problem: \(problem)", sourceLocation: sourceLocation)
            return nil
        }
    }
}

/// The problems reading `bytes` gives.
func problems(_ bytes: [UInt8], as encoding: TextEncoding) -> [DecodingProblem] {
    decode(bytes, as: encoding).compactMap { event in
        if case .problem(let problem) = event { problem } else { nil }
    }
}

/// The bytes `encoding` writes for `text`, or nil when it cannot write some character of it.
func encode(_ text: String, as encoding: TextEncoding) -> [UInt8]? {
    var encoder = TextEncoder(encoding)
    var output: [UInt8] = []
    do {
        try encoder.encode(text, into: &output)
    } catch {
        return nil
    }
    encoder.finish(into: &output)
    return output
}

/// `bytes` converted in one chunk.
func convert(
    _ bytes: [UInt8], from source: TextEncoding, to target: TextEncoding, newlines: NewlineConversion = .keep,
    unencodable: TextConverter.Unencodable = .fail
) throws(ConversionProblem) -> [UInt8] {
    var converter = try! TextConverter(from: source, to: target, newlines: newlines, unencodable: unencodable)
    var output: [UInt8] = []
    try converter.convert(bytes, appendingTo: &output)
    try converter.finish(appendingTo: &output)
    return output
}

/// `bytes` converted in chunks of `size` bytes.
func convert(
    _ bytes: [UInt8], from source: TextEncoding, to target: TextEncoding, newlines: NewlineConversion = .keep, chunkSize size: Int
) throws(ConversionProblem) -> [UInt8] {
    var converter = try! TextConverter(from: source, to: target, newlines: newlines)
    var output: [UInt8] = []
    var start = 0
    while start < bytes.count {
        try converter.convert(Array(bytes[start..<min(start + size, bytes.count)]), appendingTo: &output)
        start += size
    }
    try converter.finish(appendingTo: &output)
    return output
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
}

func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// FNV-1a 64, the digest the generator writes into Expected.
struct FNV1a: Equatable {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01B3 }
    }
    mutating func add(bigEndian value: UInt32) {
        add([UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}

/// A character sequence of an encoding and the scalar it reads as.
struct Code {
    let bytes: [UInt8]
    let scalar: UInt32
}

/// Every byte sequence that reads as one character, found by trying them all through the public
/// decoder (the generator enumerates the same sequences with Python's codecs): single bytes, then
/// two bytes after a byte that is not a character alone (three after EUC-JP's 0x8F).
func everyCode(of encoding: TextEncoding) -> [Code] {
    func single(_ bytes: [UInt8]) -> UInt32? {
        let events = decode(bytes, as: encoding)
        guard events.count == 1, case .scalar(let scalar, _) = events[0] else { return nil }
        return scalar.value
    }
    var codes: [Code] = []
    for lead in UInt8.min...UInt8.max {
        if let scalar = single([lead]) {
            codes.append(Code(bytes: [lead], scalar: scalar))
            continue
        }
        if encoding == .eucJP, lead == 0x8F {
            for second in UInt8(0xA1)...0xFE {
                for third in UInt8(0xA1)...0xFE {
                    if let scalar = single([lead, second, third]) { codes.append(Code(bytes: [lead, second, third], scalar: scalar)) }
                }
            }
            continue
        }
        for trail in UInt8.min...UInt8.max {
            if let scalar = single([lead, trail]) { codes.append(Code(bytes: [lead, trail], scalar: scalar)) }
        }
    }
    return codes
}

enum Codes {
    static let cp932 = everyCode(of: .cp932)
    static let shiftJIS = everyCode(of: .shiftJIS)
    static let eucJP = everyCode(of: .eucJP)

    static func of(_ encoding: TextEncoding) -> [Code] {
        switch encoding {
        case .cp932: cp932
        case .shiftJIS: shiftJIS
        case .eucJP: eucJP
        case .utf8, .utf8BOM: []
        }
    }
}

/// Every Unicode scalar.
let everyScalar: [Unicode.Scalar] = (0...0x10FFFF).compactMap { Unicode.Scalar(UInt32($0)) }
