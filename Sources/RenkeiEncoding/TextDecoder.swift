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
    /// The last scalar read: JIS X 0213 allows U+309A only after certain kana.
    private var previous: UInt32?

    public init(_ encoding: TextEncoding) {
        self.encoding = encoding
        start = TextStart(encoding)
    }

    /// Reads one chunk: every scalar and every problem. When `handle` throws, decoding stops there and
    /// this decoder is spent.
    public mutating func decode(_ chunk: UnsafeRawBufferPointer, _ handle: (Event) throws -> Void) rethrows {
        try read(chunk, selecting: EveryScalar(), handle)
    }

    /// Reads one chunk from an array.
    public mutating func decode(_ chunk: [UInt8], _ handle: (Event) throws -> Void) rethrows {
        try chunk.withUnsafeBytes { raw in try read(raw, selecting: EveryScalar(), handle) }
    }

    /// Reads one chunk as a `check` step does: hands over only the problems and the scalars outside
    /// `characters`, so that the loop runs here, without a call per character.
    public mutating func check(_ chunk: UnsafeRawBufferPointer, characters: CharacterRepertoire, _ handle: (Event) throws -> Void) rethrows {
        try read(chunk, selecting: OutsideRepertoire(characters), handle)
    }

    /// Checks one chunk from an array.
    public mutating func check(_ chunk: [UInt8], characters: CharacterRepertoire, _ handle: (Event) throws -> Void) rethrows {
        try chunk.withUnsafeBytes { raw in try read(raw, selecting: OutsideRepertoire(characters), handle) }
    }

    /// Ends the text: a character it ends inside is a problem, and so is a `utf-8-bom` text too short
    /// for its byte order mark. After `check`, pass the same `characters` here.
    public mutating func finish(characters: CharacterRepertoire? = nil, _ handle: (Event) throws -> Void) rethrows {
        if !start.isDone {
            if let characters {
                try readStart(selecting: OutsideRepertoire(characters), handle)
            } else {
                try readStart(selecting: EveryScalar(), handle)
            }
        }
        if pending.count > 0 {
            let bytes = pending.bytes
            pending.removeAll()
            try handle(.problem(DecodingProblem(kind: .truncated, encoding: encoding, position: position, bytes: bytes)))
            position.offset += bytes.count
        }
    }

    private mutating func read<Selection: ScalarSelection>(
        _ chunk: UnsafeRawBufferPointer, selecting selection: Selection, _ handle: (Event) throws -> Void
    ) rethrows {
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        var input = base.assumingMemoryBound(to: UInt8.self)
        var count = chunk.count
        if !start.isDone {
            let taken = start.take(input, count: count)
            input += taken
            count -= taken
            guard start.isComplete else { return }
            try readStart(selecting: selection, handle)
        }
        try readText(input, count: count, selecting: selection, handle)
    }

    /// Looks at the first bytes for a byte order mark, then reads them as text.
    private mutating func readStart<Selection: ScalarSelection>(
        selecting selection: Selection, _ handle: (Event) throws -> Void
    ) rethrows {
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
        try text.withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { try readText(base, count: buffer.count, selecting: selection, handle) }
        }
    }

    private mutating func readText<Selection: ScalarSelection>(
        _ input: UnsafePointer<UInt8>, count: Int, selecting selection: Selection, _ handle: (Event) throws -> Void
    ) rethrows {
        guard count > 0 else { return }
        switch encoding {
        case .utf8, .utf8BOM: try readText(input, count: count, with: UTF8Reader(), selecting: selection, handle)
        case .cp932: try readText(input, count: count, with: ShiftJISReader(table: CodeTable.cp932), selecting: selection, handle)
        case .shiftJIS: try readText(input, count: count, with: ShiftJISReader(table: CodeTable.shiftJIS), selecting: selection, handle)
        case .eucJP: try readText(input, count: count, with: EUCJPReader(table: CodeTable.eucJP), selecting: selection, handle)
        }
    }

    private mutating func readText<Reader: CharacterReader, Selection: ScalarSelection>(
        _ input: UnsafePointer<UInt8>, count: Int, with reader: Reader, selecting selection: Selection, _ handle: (Event) throws -> Void
    ) rethrows {
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
            try take(step, bytes: bytes, selecting: selection, handle)
        }
        while index < count {
            let byte = input[index]
            if byte < 0x80 {  // ASCII is itself in every encoding here
                try take(.scalar(UInt32(byte), length: 1), bytes: EmptyCollection(), selecting: selection, handle)
                index += 1
                continue
            }
            let step = reader.read(input + index, count: count - index)
            if case .incomplete = step {
                pending.append(input + index, count: count - index)
                return
            }
            try take(step, bytes: UnsafeBufferPointer(start: input + index, count: step.length), selecting: selection, handle)
            index += step.length
        }
    }

    /// `bytes` are copied only for a problem: a character costs no allocation.
    @inline(__always)
    private mutating func take<Selection: ScalarSelection>(
        _ step: ReadStep, bytes: some Collection<UInt8>, selecting selection: Selection, _ handle: (Event) throws -> Void
    ) rethrows {
        switch step {
        case .scalar(let value, let length):
            if selection.selects(value, after: previous) {
                // The readers return scalar values only: Unicode.Scalar's check would find nothing.
                try handle(.scalar(unsafeBitCast(value, to: Unicode.Scalar.self), position))
            }
            previous = value
            position.offset &+= length
            if value == 0x0A {
                position.line &+= 1
                position.column = 1
            } else {
                position.column &+= 1
            }
        case .problem(let kind, let length):
            try handle(.problem(DecodingProblem(kind: kind, encoding: encoding, position: position, bytes: Array(bytes))))
            previous = nil
            position.offset += length
            position.column += 1  // bad bytes take a column, as an editor's replacement mark would
        case .incomplete:
            preconditionFailure("an incomplete character is kept, not taken")
        }
    }
}

/// Which scalars a reading hands over.
protocol ScalarSelection {
    func selects(_ scalar: UInt32, after previous: UInt32?) -> Bool
}

struct EveryScalar: ScalarSelection {
    @inline(__always) func selects(_ scalar: UInt32, after previous: UInt32?) -> Bool { true }
}

/// The scalars outside a repertoire (`CharacterRepertoire.contains(_:after:)`, looked up once per
/// chunk rather than once per scalar).
struct OutsideRepertoire: ScalarSelection {
    /// The BMP part; nil for `unicode`.
    let bits: RepertoireBits?
    /// Beyond the BMP: JIS X 0213's characters there.
    let supplementary: Set<UInt32>
    let isJISX0213: Bool

    init(_ repertoire: CharacterRepertoire) {
        isJISX0213 = repertoire == .jisx0213
        supplementary = isJISX0213 ? RepertoireBits.jisx0213Supplementary : []
        switch repertoire {
        case .jisx0208: bits = RepertoireBits.jisx0208
        case .cp932: bits = RepertoireBits.cp932
        case .jisx0213: bits = RepertoireBits.jisx0213
        case .unicode: bits = nil
        }
    }

    @inline(__always)
    func selects(_ scalar: UInt32, after previous: UInt32?) -> Bool {
        guard let bits else { return false }
        if scalar <= 0xFFFF {
            if isJISX0213, scalar == 0x309A { return !CharacterRepertoire.jisx0213SemiVoicedBases.contains(previous ?? 0) }
            return !bits.contains(scalar)
        }
        return !supplementary.contains(scalar)
    }
}
