/// Text that came from outside (a reason, an error message, a step's output, a file name) made
/// safe to print: a terminal must not obey an ESC sequence an operator typed, and a CR must not
/// let a reason overwrite the line it sits on with a forged one. Control characters are shown,
/// not removed, so what was stored can still be read.
public enum SafeText {
    /// The longest reason, in UTF-8 bytes, any request may carry.
    public static let maximumReasonBytes = 4096

    /// Why `reason` is refused, or nil when it may be stored.
    public static func reasonProblem(_ reason: String?) -> String? {
        guard let reason, reason.utf8.count > maximumReasonBytes else { return nil }
        return "the reason is \(reason.utf8.count) bytes; at most \(maximumReasonBytes) are accepted"
    }

    /// `text` with every C0 control character, DEL and C1 control character written visibly:
    /// `\e`, `\r`, `\n`, `\t`, `\0`, `\x7f`, `\u{9b}`. Everything else is left as it is.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.append(scalar)
                continue
            }
            out.append(contentsOf: escape(scalar).unicodeScalars)
        }
        return String(out)
    }

    /// A message of several lines (one of renkeid's answers, a problem with its context) shown
    /// as `visible` shows each line: its line breaks kept, every other control character written
    /// visibly (a CR, an ESC, a lone line feed's neighbours).
    public static func visibleLines(_ text: String) -> String {
        // By scalars: as Characters, "\r\n" is one, and a split on "\n" would not see it.
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { visible(String(String.UnicodeScalarView($0))) }.joined(separator: "\n")
    }

    /// A CSV cell a spreadsheet will not read as a formula: one starting with `=`, `+`, `-`, `@`,
    /// TAB or CR gets a leading `'` (OWASP's advice for CSV injection).
    public static func csvCell(_ cell: String) -> String {
        guard let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return cell }
        return "'" + cell
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x00: return "\\0"
        case 0x09: return "\\t"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x1B: return "\\e"
        case 0x80...: return "\\u{" + String(scalar.value, radix: 16) + "}"
        default:
            let hex = String(scalar.value, radix: 16)
            return "\\x" + (hex.count < 2 ? "0" + hex : hex)
        }
    }
}
