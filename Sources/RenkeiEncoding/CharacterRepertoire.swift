/// The characters a `characters:` check allows: what the receiving system can store and show.
///
/// The three Japanese sets are repertoires of characters, not of bytes, so each accepts both names
/// Unicode has for one JIS X 0208 character (U+301C and U+FF5E for 〜: a cp932 file's 0x8160 is
/// the same character as a shift_jis file's). They share one rule for what is not a character of a
/// double-byte set: of the single bytes, printable ASCII and TAB, LF, CR only — no other control
/// character (NUL, ESC, 0x1A), which a record never holds as text. Private-use characters (外字)
/// are never in a standard set: their meaning is one system's private mapping.
public enum CharacterRepertoire: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// JIS X 0208: the 6,879 characters of the JIS table, under both their JIS and CP932 code
    /// points. Not half-width katakana (JIS X 0201, a single-byte set), not NEC row 13 (①),
    /// not the IBM extensions (髙 﨑), nothing beyond the BMP (𠮷), no variation selectors.
    case jisx0208
    /// Whatever cp932 can write: JIS X 0208, half-width katakana, NEC row 13, the NEC-selected and
    /// IBM extensions (髙 﨑) — but not its user-defined area (U+E000–U+E757, 外字).
    case cp932
    /// JIS X 0213:2004 (as Python's `shift_jis_2004` reads it), with `jisx0208`: 11,233 characters,
    /// 303 beyond the BMP (𠮟 U+20B9F; not 𠮷 U+20BB7, which JIS X 0213 does not have). 25 of them are
    /// two scalars (か゚ is U+304B U+309A): see `contains(_:after:)`. Not half-width katakana.
    case jisx0213
    /// Every Unicode scalar: the text only has to be valid in its encoding.
    case unicode

    public var description: String { rawValue }

    /// Whether `scalar` is in the repertoire on its own. A scalar that is only part of a JIS X 0213
    /// combining sequence (U+309A, the semi-voiced mark of か゚) counts as in `jisx0213`, so that a
    /// scalar-by-scalar check never refuses such a sequence; `contains(_:after:)` is exact.
    public func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        switch self {
        case .unicode: return true
        case .jisx0208: return RepertoireBits.jisx0208.contains(value)
        case .cp932: return RepertoireBits.cp932.contains(value)
        case .jisx0213:
            if value <= 0xFFFF { return RepertoireBits.jisx0213.contains(value) }
            return RepertoireBits.jisx0213Supplementary.contains(value)
        }
    }

    /// Whether `scalar`, coming after `previous` (nil at the start of a text), is in the repertoire:
    /// in `jisx0213`, U+309A only after one of the 14 kana it combines with there.
    public func contains(_ scalar: Unicode.Scalar, after previous: Unicode.Scalar?) -> Bool {
        if self == .jisx0213, scalar.value == 0x309A {
            return previous.map { Self.jisx0213SemiVoicedBases.contains($0.value) } ?? false
        }
        return contains(scalar)
    }
}

/// A repertoire of the Basic Multilingual Plane, a bit per code point.
struct RepertoireBits: @unchecked Sendable {
    private let words: UnsafePointer<UInt64>

    private init(_ fill: (inout [UInt64]) -> Void) {
        var words = [UInt64](repeating: 0, count: 0x10000 / 64)
        fill(&words)
        let storage = UnsafeMutablePointer<UInt64>.allocate(capacity: words.count)
        storage.initialize(from: words, count: words.count)
        self.words = UnsafePointer(storage)
    }

    func contains(_ value: UInt32) -> Bool {
        value <= 0xFFFF && words[Int(value >> 6)] & (1 << UInt64(value & 63)) != 0
    }

    private static func insert(_ value: Int, into words: inout [UInt64]) {
        words[value >> 6] |= 1 << UInt64(value & 63)
    }

    /// Printable ASCII and TAB, LF, CR: the single bytes every Japanese repertoire here allows.
    private static func insertText(into words: inout [UInt64]) {
        for value in [0x09, 0x0A, 0x0D] + Array(0x20...0x7E) { insert(value, into: &words) }
    }

    /// What shift_jis writes in two bytes: JIS X 0208 under both names.
    static let jisx0208 = RepertoireBits { words in
        insertText(into: &words)
        let codes = CodeTable.shiftJISEncoding.codes
        for value in 0x80...0xFFFF where codes[value] >= 0x100 { insert(value, into: &words) }
    }

    /// What cp932 writes, but its control characters and its user-defined area.
    static let cp932 = RepertoireBits { words in
        insertText(into: &words)
        let codes = CodeTable.cp932Encoding.codes
        for value in 0x80...0xFFFF where codes[value] != 0 && !(0xE000...0xF8FF).contains(value) {
            insert(value, into: &words)
        }
    }

    static let jisx0213 = RepertoireBits { words in
        let bytes = decodeBase64(CharacterRepertoire.jisx0213BMPBase64)
        precondition(bytes.count == 0x10000 / 8, "generated repertoire has the wrong size")
        for (index, byte) in bytes.enumerated() { words[index / 8] |= UInt64(byte) << UInt64(8 * (index % 8)) }
    }

    /// JIS X 0213's characters beyond the BMP, ascending.
    static let jisx0213Supplementary: Set<UInt32> = {
        let hex = Array(CharacterRepertoire.jisx0213SupplementaryHex.utf8)
        return Set(stride(from: 0, to: hex.count, by: 5).map { UInt32(String(decoding: hex[$0..<$0 + 5], as: UTF8.self), radix: 16)! })
    }()
}
