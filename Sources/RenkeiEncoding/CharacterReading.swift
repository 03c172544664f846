/// What the next bytes of a text are: one character, a problem, or the start of a character whose
/// remaining bytes have not arrived yet.
enum ReadStep {
    case scalar(UInt32, length: Int)
    case problem(DecodingProblem.Kind, length: Int)
    case incomplete
}

/// Reads one character of an encoding at a time; `bytes` holds `count` ≥ 1 bytes.
///
/// After a problem, reading goes on at the first byte that could start a character, so a lone
/// lead byte before a line's CR LF reports that byte alone and the line break is still read.
protocol CharacterReader {
    func read(_ bytes: UnsafePointer<UInt8>, count: Int) -> ReadStep
}

/// UTF-8 as RFC 3629 and Unicode's conformance chapter have it: shortest forms only, no
/// surrogates, nothing beyond U+10FFFF.
struct UTF8Reader: CharacterReader {
    @inline(__always)
    func read(_ bytes: UnsafePointer<UInt8>, count: Int) -> ReadStep {
        let lead = bytes[0]
        let length: Int
        var value: UInt32
        switch lead {
        case 0x00...0x7F: return .scalar(UInt32(lead), length: 1)
        case 0x80...0xBF: return .problem(.invalidByte, length: 1)
        case 0xC0...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0...0xF7: length = 4; value = UInt32(lead & 0x07)
        default: return .problem(.invalidByte, length: 1)
        }
        // A sequence whose continuation bytes are all there but which is too long, a surrogate or
        // too large is reported whole, with its reason; a missing continuation byte ends it.
        for index in 1..<length {
            guard index < count else { return .incomplete }
            let byte = bytes[index]
            guard byte & 0xC0 == 0x80 else { return .problem(.incompleteCharacter, length: index) }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        switch (length, value) {
        case (2, ..<0x80), (3, ..<0x800), (4, ..<0x10000): return .problem(.overlong, length: length)
        case (3, 0xD800...0xDFFF): return .problem(.surrogate, length: length)
        case (4, 0x110000...): return .problem(.beyondUnicode, length: length)
        default: return .scalar(value, length: length)
        }
    }
}

/// CP932 and Shift_JIS: ASCII, half-width katakana 0xA1–0xDF, and two-byte characters whose lead
/// byte is 0x81–0x9F or 0xE0–0xFC and whose trail byte is 0x40–0x7E or 0x80–0xFC.
struct ShiftJISReader: CharacterReader {
    let table: DoubleByteTable

    @inline(__always)
    func read(_ bytes: UnsafePointer<UInt8>, count: Int) -> ReadStep {
        let lead = bytes[0]
        if lead < 0x80 { return .scalar(UInt32(lead), length: 1) }
        if lead &- 0xA1 < 0x3F { return .scalar(0xFF61 + UInt32(lead - 0xA1), length: 1) }
        let row = table.rowOfLead[Int(lead)]
        guard row != DoubleByteTable.notLead else { return .problem(.invalidByte, length: 1) }
        guard count >= 2 else { return .incomplete }
        let trail = bytes[1]
        guard trail >= 0x40 else { return .problem(.incompleteCharacter, length: 1) }
        let scalar = table.scalars[Int(row) &* DoubleByteTable.trailsPerRow &+ Int(trail &- 0x40)]
        if scalar != 0 { return .scalar(UInt32(scalar), length: 2) }
        guard trail != 0x7F, trail <= 0xFC else { return .problem(.incompleteCharacter, length: 1) }
        return .problem(.unmapped, length: 2)
    }
}

/// EUC-JP: ASCII, JIS X 0208 in two bytes 0xA1–0xFE, half-width katakana as 0x8E 0xA1–0xDF, and
/// JIS X 0212 as 0x8F and two bytes 0xA1–0xFE.
struct EUCJPReader: CharacterReader {
    let table: EUCTable

    @inline(__always)
    func read(_ bytes: UnsafePointer<UInt8>, count: Int) -> ReadStep {
        let lead = bytes[0]
        if lead < 0x80 { return .scalar(UInt32(lead), length: 1) }
        @inline(__always) func isCodeByte(_ byte: UInt8) -> Bool { byte &- 0xA1 < 94 }
        switch lead {
        case 0xA1...0xFE:
            guard count >= 2 else { return .incomplete }
            guard isCodeByte(bytes[1]) else { return .problem(.incompleteCharacter, length: 1) }
            let scalar = table.x0208[Int(lead - 0xA1) &* EUCTable.cells &+ Int(bytes[1] - 0xA1)]
            return scalar != 0 ? .scalar(UInt32(scalar), length: 2) : .problem(.unmapped, length: 2)
        case 0x8E:
            guard count >= 2 else { return .incomplete }
            let kana = bytes[1]
            if kana &- 0xA1 < 0x3F { return .scalar(0xFF61 + UInt32(kana - 0xA1), length: 2) }
            return isCodeByte(kana) ? .problem(.unmapped, length: 2) : .problem(.incompleteCharacter, length: 1)
        case 0x8F:
            guard count >= 2 else { return .incomplete }
            guard isCodeByte(bytes[1]) else { return .problem(.incompleteCharacter, length: 1) }
            guard count >= 3 else { return .incomplete }
            guard isCodeByte(bytes[2]) else { return .problem(.incompleteCharacter, length: 2) }
            let scalar = table.x0212[Int(bytes[1] - 0xA1) &* EUCTable.cells &+ Int(bytes[2] - 0xA1)]
            return scalar != 0 ? .scalar(UInt32(scalar), length: 3) : .problem(.unmapped, length: 3)
        default:
            return .problem(.invalidByte, length: 1)
        }
    }
}
