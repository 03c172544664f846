/// Reads a text chunk by chunk and hands over each character with its position, and each problem.
///
/// A `check` step reads a file with it: every scalar comes with the byte offset, line and column
/// an operator needs to find it, and after a problem reading goes on, so that one run can report
/// more than the first bad byte. Chunks may be of any size; a character split between two chunks
/// is put together, and `finish()` reports one the text ends inside.
///
///     var decoder = TextDecoder(.cp932)
///     try decoder.decode(chunk) { event in
///         switch event {
///         case .scalar(let scalar, let position): ...
///         case .problem(let problem): ...   // problem.position, problem.bytes
///         }
///     }
///     try decoder.finish { event in ... }
public struct TextDecoder: Sendable {
    public enum Event: Sendable, Hashable {
        case scalar(Unicode.Scalar, TextPosition)
        case problem(DecodingProblem)
    }

    public let encoding: TextEncoding
    /// Where the next character starts (the first byte of a character still waiting for its rest).
    public private(set) var position = TextPosition.start
    /// A character the last chunk ended inside.
    private var pending = PendingBytes()
    /// Until the start of a UTF-8 text has been looked at for a byte order mark, its first bytes.
    private var start: TextStart

    public init(_ encoding: TextEncoding) {
        self.encoding = encoding
        start = TextStart(encoding)
    }

    /// Reads one chunk. When `handle` throws, decoding stops there and this decoder is spent.
    public mutating func decode<E: Error>(_ chunk: UnsafeRawBufferPointer, _ handle: (Event) throws(E) -> Void) throws(E) {
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        var input = base.assumingMemoryBound(to: UInt8.self)
        var count = chunk.count
        if !start.isDone {
            let taken = start.take(input, count: count)
            input += taken
            count -= taken
            guard start.isComplete else { return }
            try readStart(handle)
        }
        try decodeText(input, count: count, handle)
    }

    /// Reads one chunk of bytes from an array.
    public mutating func decode<E: Error>(_ chunk: [UInt8], _ handle: (Event) throws(E) -> Void) throws(E) {
        var failure: E?
        chunk.withUnsafeBytes { raw in
            do throws(E) { try decode(raw, handle) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Ends the text: a character it ends inside is a problem, and so is a `utf-8-bom` text too short
    /// for its byte order mark.
    public mutating func finish<E: Error>(_ handle: (Event) throws(E) -> Void) throws(E) {
        if !start.isDone { try readStart(handle) }
        if pending.count > 0 {
            let bytes = pending.bytes
            pending.removeAll()
            try handle(.problem(DecodingProblem(kind: .truncated, encoding: encoding, position: position, bytes: bytes)))
            position.offset += bytes.count
        }
    }

    /// Looks at the first bytes for a byte order mark, then reads them as text.
    private mutating func readStart<E: Error>(_ handle: (Event) throws(E) -> Void) throws(E) {
        let first = start.finish()
        var skip = 0
        switch start.verdict(first) {
        case .text:
            break
        case .skipMark:
            skip = byteOrderMark.count
        case .problem(let kind, let skipped):
            try handle(.problem(DecodingProblem(kind: kind, encoding: encoding, position: .start, bytes: first)))
            skip = skipped
        }
        position.offset += skip
        let text = Array(first.dropFirst(skip))
        try text.withUnsafeBufferPointer { buffer throws(E) in
            if let base = buffer.baseAddress { try decodeText(base, count: buffer.count, handle) }
        }
    }

    private mutating func decodeText<E: Error>(_ input: UnsafePointer<UInt8>, count: Int, _ handle: (Event) throws(E) -> Void) throws(E) {
        guard count > 0 else { return }
        switch encoding {
        case .utf8, .utf8BOM: try decodeText(input, count: count, with: UTF8Reader(), handle)
        case .cp932: try decodeText(input, count: count, with: ShiftJISReader(table: CodeTable.cp932), handle)
        case .shiftJIS: try decodeText(input, count: count, with: ShiftJISReader(table: CodeTable.shiftJIS), handle)
        case .eucJP: try decodeText(input, count: count, with: EUCJPReader(table: CodeTable.eucJP), handle)
        }
    }

    private mutating func decodeText<Reader: CharacterReader, E: Error>(
        _ input: UnsafePointer<UInt8>, count: Int, with reader: Reader, _ handle: (Event) throws(E) -> Void
    ) throws(E) {
        var index = 0
        if pending.count > 0 {
            let (step, taken) = pending.read(with: reader, then: input, count: count)
            if case .incomplete = step {
                pending.append(input, count: taken)
                return
            }
            let bytes = pending.prefix(step.length, then: input, count: count)
            pending.removeAll()
            index = taken
            try take(step, bytes: bytes, handle)
        }
        while index < count {
            let byte = input[index]
            if byte < 0x80 {  // ASCII is itself in every encoding here
                try handle(.scalar(Unicode.Scalar(byte), position))
                advance(over: 1, scalar: UInt32(byte))
                index += 1
                continue
            }
            let step = reader.read(input + index, count: count - index)
            if case .incomplete = step {
                pending.append(input + index, count: count - index)
                return
            }
            try take(step, bytes: Array(UnsafeBufferPointer(start: input + index, count: step.length)), handle)
            index += step.length
        }
    }

    /// `bytes` are only made for a problem: an array for every character read took a tenth of a
    /// check's time in malloc and free.
    private mutating func take<E: Error>(_ step: ReadStep, bytes: @autoclosure () -> [UInt8], _ handle: (Event) throws(E) -> Void) throws(E) {
        switch step {
        case .scalar(let value, let length):
            // The readers return scalar values only: Unicode.Scalar's check would find nothing.
            try handle(.scalar(unsafeBitCast(value, to: Unicode.Scalar.self), position))
            advance(over: length, scalar: value)
        case .problem(let kind, let length):
            try handle(.problem(DecodingProblem(kind: kind, encoding: encoding, position: position, bytes: bytes())))
            advance(over: length, scalar: nil)
        case .incomplete:
            preconditionFailure("an incomplete character is kept, not taken")
        }
    }

    @inline(__always)
    private mutating func advance(over length: Int, scalar: UInt32?) {
        position.offset += length
        if scalar == 0x0A {
            position.line += 1
            position.column = 1
        } else {
            position.column += 1  // bad bytes take a column, as an editor's replacement mark would
        }
    }
}
