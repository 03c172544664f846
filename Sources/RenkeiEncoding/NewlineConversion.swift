/// What a conversion does with line endings (`newline:` of a convert step).
///
/// Only CR LF and LF are line endings; a lone CR is text and is kept (an old Mac file is not a
/// data-link format, and a CR inside a quoted CSV field may be data).
public enum NewlineConversion: String, Sendable, Hashable, CaseIterable {
    /// Line endings pass through as they are.
    case keep
    /// CR LF becomes LF (what Linux systems read).
    case lf
    /// LF becomes CR LF; CR LF stays (what Windows systems and most registry exports read).
    case crlf
}
