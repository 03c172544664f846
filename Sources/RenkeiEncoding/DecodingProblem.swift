/// Bytes that are not text in the encoding a file was declared in, where they are and why.
///
/// Decoding never substitutes U+FFFD: a data link that silently replaced a character in a
/// resident's name would deliver a wrong record that nobody notices.
public struct DecodingProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A byte that cannot start a character: 0x80 or 0xFD in cp932, a UTF-8 continuation byte
        /// without a lead byte.
        case invalidByte
        /// The start of a character followed by a byte that cannot continue it.
        case incompleteCharacter
        /// The text ends inside a character.
        case truncated
        /// A well-formed code that the encoding's table has no character for (cp932 0x8540,
        /// or an NEC or IBM extension in a file declared shift_jis).
        case unmapped
        /// UTF-8 in more bytes than the shortest form (C0 AF for `/`), forbidden because it slips
        /// past checks of the shortest form.
        case overlong
        /// A UTF-16 surrogate written as UTF-8 (CESU-8, or a broken conversion).
        case surrogate
        /// A UTF-8 sequence above U+10FFFF.
        case beyondUnicode
        /// A `utf-8-bom` text that does not start with EF BB BF.
        case missingByteOrderMark
        /// A `utf-8` text that starts with EF BB BF.
        case byteOrderMark
    }

    public let kind: Kind
    public let encoding: TextEncoding
    /// Where the bytes start.
    public let position: TextPosition
    /// The bytes at fault (for `missingByteOrderMark`, the up to 3 bytes found instead).
    public let bytes: [UInt8]

    public init(kind: Kind, encoding: TextEncoding, position: TextPosition, bytes: [UInt8]) {
        self.kind = kind
        self.encoding = encoding
        self.position = position
        self.bytes = bytes
    }

    public var description: String { "\(position): \(explanation)" }

    /// What is wrong, without the position.
    public var explanation: String {
        let shown = describeBytes(bytes)
        switch kind {
        case .invalidByte:
            if encoding == .utf8 || encoding == .utf8BOM {
                return bytes.first.map { $0 < 0xC0 } == true
                    ? "\(shown) continues a UTF-8 character that never started (is the file really \(encoding)?)"
                    : "\(shown) never occurs in UTF-8 (is the file really \(encoding)?)"
            }
            return "\(shown) cannot start a character in \(encoding)"
        case .incompleteCharacter:
            return "\(shown) starts a character in \(encoding), but the next byte cannot continue it"
        case .truncated:
            return "the text ends inside a character: \(shown) starts a character in \(encoding) that is never finished"
        case .unmapped:
            return "\(shown) is not a character in \(encoding)" + otherEncodingHint
        case .overlong:
            return "\(shown) is an overlong form\(decodedValue.map { " of " + Unicode.Scalar.codePoint($0) } ?? ""), which UTF-8 forbids"
        case .surrogate:
            return "\(shown) encodes the surrogate \(decodedValue.map { Unicode.Scalar.codePoint($0) } ?? ""), which UTF-8 forbids (CESU-8, or UTF-16 converted badly)"
        case .beyondUnicode:
            return "\(shown) encodes a value beyond U+10FFFF, the last Unicode character"
        case .missingByteOrderMark:
            let found = bytes.isEmpty ? "the text is empty" : "it starts with \(shown)"
            return "utf-8-bom text must start with the byte order mark 0xEF 0xBB 0xBF, but \(found)"
        case .byteOrderMark:
            return "the text starts with a UTF-8 byte order mark (0xEF 0xBB 0xBF); if it is meant to, declare it utf-8-bom"
        }
    }

    /// A file declared shift_jis that holds ① or 髙 is a cp932 file: say so.
    private var otherEncodingHint: String {
        guard encoding == .shiftJIS, bytes.count == 2 else { return "" }
        var scalar: UInt32?
        bytes.withUnsafeBufferPointer { buffer in
            if case .scalar(let value, _) = ShiftJISReader(table: CodeTable.cp932).read(buffer.baseAddress!, count: 2) {
                scalar = value
            }
        }
        guard let scalar, let character = Unicode.Scalar(scalar) else { return "" }
        return " (cp932 has \(character.codePointDescription) there: is the file cp932?)"
    }

    /// The value an overlong or surrogate UTF-8 sequence spells.
    private var decodedValue: UInt32? {
        guard let lead = bytes.first, bytes.count >= 2 else { return nil }
        var value = UInt32(lead) & (bytes.count == 2 ? 0x1F : bytes.count == 3 ? 0x0F : 0x07)
        for byte in bytes.dropFirst() { value = value << 6 | UInt32(byte & 0x3F) }
        return value
    }
}
