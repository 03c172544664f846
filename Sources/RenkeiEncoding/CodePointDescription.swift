extension Unicode.Scalar {
    /// The scalar as a message shows it: `U+20BB7 𠮷`. One that would print as nothing, as a blank
    /// or as a control of the operator's terminal is shown by its name instead: `U+E0100 VARIATION
    /// SELECTOR-17`, `U+0009 CHARACTER TABULATION`, `U+E000 PRIVATE USE (外字)`.
    public var codePointDescription: String {
        let code = Self.codePoint(value)
        if let name = invisibleName { return "\(code) \(name)" }
        return "\(code) \(Character(self))"
    }

    /// `U+00A5`: at least four hexadecimal digits, as Unicode writes them.
    static func codePoint(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The name of a scalar that cannot be shown as itself, nil for the others.
    var invisibleName: String? {
        switch value {
        case 0x00..<0x20: return Self.controlNames[Int(value)]
        case 0x7F: return "DELETE"
        case 0x80..<0xA0: return value == 0x85 ? "NEXT LINE" : "C1 CONTROL"
        case 0x20: return "SPACE"
        default: break
        }
        switch properties.generalCategory {
        case .privateUse: return "PRIVATE USE (外字)"
        case .unassigned: return "UNASSIGNED"
        case .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .nonspacingMark, .enclosingMark, .spacingMark:
            return properties.name ?? "UNNAMED"
        default:
            return properties.isDefaultIgnorableCodePoint ? properties.name ?? "UNNAMED" : nil
        }
    }

    /// Unicode's names for the C0 controls (the Unicode Character Database gives them none but aliases).
    private static let controlNames = [
        "NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION", "ENQUIRY",
        "ACKNOWLEDGE", "BELL", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED", "LINE TABULATION",
        "FORM FEED", "CARRIAGE RETURN", "SHIFT OUT", "SHIFT IN", "DATA LINK ESCAPE", "DEVICE CONTROL ONE",
        "DEVICE CONTROL TWO", "DEVICE CONTROL THREE", "DEVICE CONTROL FOUR", "NEGATIVE ACKNOWLEDGE",
        "SYNCHRONOUS IDLE", "END OF TRANSMISSION BLOCK", "CANCEL", "END OF MEDIUM", "SUBSTITUTE", "ESCAPE",
        "INFORMATION SEPARATOR FOUR", "INFORMATION SEPARATOR THREE", "INFORMATION SEPARATOR TWO",
        "INFORMATION SEPARATOR ONE",
    ]
}

/// Bytes as a message shows them: `0x81 0x0D`.
func describeBytes(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { byte in
        let hex = String(byte, radix: 16, uppercase: true)
        return "0x" + (hex.count < 2 ? "0" : "") + hex
    }.joined(separator: " ")
}
