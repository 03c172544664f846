/// A character the target encoding has no bytes for: 𠮷 in cp932, ① in shift_jis. The caller
/// decides whether that fails the step or the character is replaced.
public struct UnencodableCharacter: Error, Sendable, Hashable, CustomStringConvertible {
    public let scalar: Unicode.Scalar
    public let encoding: TextEncoding
    /// Where the character was read, when a conversion found it.
    public let position: TextPosition?

    public init(scalar: Unicode.Scalar, encoding: TextEncoding, position: TextPosition? = nil) {
        self.scalar = scalar
        self.encoding = encoding
        self.position = position
    }

    public var description: String {
        (position.map { "\($0): " } ?? "") + "\(scalar.codePointDescription) cannot be written in \(encoding)" + reason
    }

    /// Why, for the cases an operator meets and would not guess.
    private var reason: String {
        let value = scalar.value
        if scalar.properties.isVariationSelector {
            return " (a variation selector, which picks a glyph of the character before it; \(encoding) has none)"
        }
        if (0xE000...0xF8FF).contains(value) || value >= 0xF0000 {
            return " (a private-use character: 外字 of the system that wrote it, which only that system's mapping can place)"
        }
        if value >= 0x10000 {
            return " (beyond the Basic Multilingual Plane, where no Shift_JIS or EUC-JP character is)"
        }
        if encoding != .cp932, TextEncoder(.cp932).canEncode(scalar) {
            return " (cp932 can: it is a Microsoft, NEC or IBM extension of JIS X 0208)"
        }
        return ""
    }
}
