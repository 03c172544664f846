/// The first three bytes of a UTF-8 text, held until they are all there (or the text ends), so that
/// a byte order mark is found, and a missing one reported with the same bytes, however the text
/// is cut into chunks.
struct TextStart: Sendable {
    enum Verdict {
        /// No mark, and none expected: the bytes are text.
        case text
        /// utf-8-bom's mark: not text.
        case skipMark
        /// A missing or unexpected mark; `skip` bytes of the start are not text.
        case problem(DecodingProblem.Kind, skip: Int)
    }

    private let encoding: TextEncoding
    private var bytes: [UInt8] = []
    /// Whether the start was looked at (at once, for encodings without a byte order mark).
    private(set) var isDone: Bool

    init(_ encoding: TextEncoding) {
        self.encoding = encoding
        isDone = encoding != .utf8 && encoding != .utf8BOM
    }

    var isComplete: Bool { bytes.count >= byteOrderMark.count }

    /// Takes what it still needs from `input`; returns how many bytes it took.
    mutating func take(_ input: UnsafePointer<UInt8>, count: Int) -> Int {
        let taken = min(count, byteOrderMark.count - bytes.count)
        bytes += UnsafeBufferPointer(start: input, count: taken)
        return taken
    }

    /// The bytes held; the start is done.
    mutating func finish() -> [UInt8] {
        isDone = true
        defer { bytes = [] }
        return bytes
    }

    func verdict(_ first: [UInt8]) -> Verdict {
        let hasMark = first.starts(with: byteOrderMark)
        switch (encoding, hasMark) {
        case (.utf8BOM, true): return .skipMark
        case (.utf8BOM, false): return .problem(.missingByteOrderMark, skip: 0)
        case (.utf8, true): return .problem(.byteOrderMark, skip: byteOrderMark.count)
        default: return .text
        }
    }
}
