/// A text encoding a link's file is written in, named as job files spell it (`encoding: cp932`).
///
/// The Japanese ones follow Python 3's codecs of the same names, which is what a city's IT
/// department checks a file with when two systems disagree; docs/encodings.md lists the few
/// places where Renkei departs from them and from glibc's iconv, and why.
public enum TextEncoding: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// UTF-8 without a byte order mark. A file that starts with one is reported: a receiving
    /// system that does not expect it would read it as part of the first field.
    case utf8 = "utf-8"
    /// UTF-8 that must start with the byte order mark EF BB BF (what Excel writes and expects).
    case utf8BOM = "utf-8-bom"
    /// Windows-31J, Microsoft's Shift_JIS: JIS X 0208 with Microsoft's table (0x8160 is U+FF5E),
    /// NEC row 13 (① ㈱), the NEC-selected and IBM extensions (髙 﨑) and the user-defined
    /// area 0xF040–0xF9FC as private-use characters U+E000–U+E757 (外字).
    case cp932
    /// Shift_JIS with the JIS X 0208 table itself (0x8160 is U+301C 〜) and nothing beyond it.
    /// 0x5C and 0x7E are read as ASCII `\` and `~`, as Python and every CSV tool do.
    case shiftJIS = "shift_jis"
    /// EUC-JP: JIS X 0208, half-width katakana after 0x8E and JIS X 0212 after 0x8F.
    case eucJP = "euc-jp"

    public var description: String { rawValue }

    /// The longest byte sequence one character takes.
    var maximumCharacterLength: Int {
        switch self {
        case .utf8, .utf8BOM: 4
        case .cp932, .shiftJIS: 2
        case .eucJP: 3
        }
    }
}
