/// Where in a file something is, as an operator looks for it: a byte offset for `xxd` and `dd`,
/// a line and a column for an editor.
///
/// A line ends after LF (0x0A), so CRLF and LF files count alike; a lone CR does not end a line.
/// Columns count characters (Unicode scalars), not bytes, from 1; a byte order mark takes none.
public struct TextPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Bytes before this place, from 0.
    public var offset: Int
    /// The line (record) this place is on, from 1.
    public var line: Int
    /// The character this place is in its line, from 1.
    public var column: Int

    public init(offset: Int, line: Int, column: Int) {
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// The first byte of a file.
    public static let start = TextPosition(offset: 0, line: 1, column: 1)

    public static func < (a: TextPosition, b: TextPosition) -> Bool { a.offset < b.offset }

    public var description: String { "line \(line), column \(column) (byte offset \(offset))" }
}
