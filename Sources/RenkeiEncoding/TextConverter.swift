/// Converts a whole file from one encoding to another, chunk by chunk, checking every character on
/// the way: the fast path of a `convert` step.
///
/// It stops at the first problem: bytes that are not text in the source encoding, or (unless a
/// replacement is given) a character the target cannot write. A chunk boundary may fall anywhere.
///
///     var converter = try TextConverter(from: .cp932, to: .utf8, newlines: .lf)
///     var output: [UInt8] = []
///     for chunk in chunks { try converter.convert(chunk, appendingTo: &output); write(output); output.removeAll(keepingCapacity: true) }
///     try converter.finish(appendingTo: &output)
///
/// ASCII goes through eight bytes at a time; every other character is one table lookup to read it
/// and one to write it. Nothing is allocated per character.
public struct TextConverter: Sendable {
    /// What to do with a character the target encoding cannot write.
    public enum Unencodable: Sendable, Hashable {
        /// Stop with `UnencodableCharacter`.
        case fail
        /// Write this character instead (it must be one the target can write), and count it.
        case replace(with: Unicode.Scalar)
    }

    public let source: TextEncoding
    public let target: TextEncoding
    public let newlines: NewlineConversion
    public let unencodable: Unencodable
    /// Where the next character of the source starts.
    public private(set) var position = TextPosition.start
    /// How many characters were replaced.
    public private(set) var replacements = 0
    /// The first character replaced, and where: what the step's log shows.
    public private(set) var firstReplaced: UnencodableCharacter?

    /// A character the last chunk ended inside.
    private var pending = PendingBytes()
    /// Until the start of a UTF-8 source has been looked at for a byte order mark, its first bytes.
    private var start: TextStart
    /// Whether the target's start (its byte order mark) has been written.
    private var started = false
    /// With `newlines: .lf`, a CR that ended the last chunk: dropped if an LF comes next.
    private var heldCarriageReturn = false
    /// The last chunk ended with a CR: with `newlines: .crlf`, an LF that comes next already has one.
    private var endedWithCarriageReturn = false
    /// The replacement's bytes in the target encoding.
    private var replacementBytes: (UInt32, count: Int) = (0, 0)

    /// Throws when the replacement character is one the target cannot write either.
    public init(from source: TextEncoding, to target: TextEncoding, newlines: NewlineConversion = .keep, unencodable: Unencodable = .fail) throws(UnencodableCharacter) {
        self.source = source
        self.target = target
        self.newlines = newlines
        self.unencodable = unencodable
        self.start = TextStart(source)
        if case .replace(let scalar) = unencodable {
            var bytes: UInt32 = 0
            let count = withUnsafeMutableBytes(of: &bytes) { raw in
                Self.write(scalar.value, in: target, to: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            guard count > 0 else { throw UnencodableCharacter(scalar: scalar, encoding: target) }
            replacementBytes = (bytes, count)
        }
    }

    /// The room `convert(_:into:)` needs for a chunk of `count` bytes (and `finish` for 0).
    public static func outputCapacity(forInputCount count: Int) -> Int {
        // A byte becomes at most 3 (half-width katakana to UTF-8) or 2 (LF to CR LF); a replacement
        // at most 4; plus the bytes held from the last chunk, a held CR and a byte order mark.
        4 * count + 32
    }

    /// Converts one chunk into `output`, which must have `outputCapacity(forInputCount:)` bytes of
    /// room, and returns how many bytes it wrote. After a problem the converter is spent.
    public mutating func convert(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ConversionProblem) -> Int {
        precondition(output.count >= Self.outputCapacity(forInputCount: input.count), "output buffer too small")
        guard let base = input.baseAddress, !input.isEmpty else { return 0 }
        var source = base.assumingMemoryBound(to: UInt8.self)
        var count = input.count
        let target = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var written = 0
        if !start.isDone {
            let taken = start.take(source, count: count)
            source += taken
            count -= taken
            guard start.isComplete else { return 0 }
            written = try convertStart(into: target)
        }
        return try written + convertText(source, count: count, into: target + written)
    }

    /// Converts one chunk and appends the result to `output`.
    public mutating func convert(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws(ConversionProblem) {
        var failure: ConversionProblem?
        output.append(addingCapacity: Self.outputCapacity(forInputCount: input.count)) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                do throws(ConversionProblem) {
                    initialized = try convert(input, into: UnsafeMutableRawBufferPointer(buffer))
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Converts one chunk from an array and appends the result to `output`.
    public mutating func convert(_ input: [UInt8], appendingTo output: inout [UInt8]) throws(ConversionProblem) {
        var failure: ConversionProblem?
        input.withUnsafeBytes { raw in
            do throws(ConversionProblem) { try convert(raw, appendingTo: &output) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Ends the text: a character it ends inside is a problem, and so is an empty `utf-8-bom` source;
    /// a held CR is written, and an empty `utf-8-bom` target still gets its byte order mark.
    public mutating func finish(into output: UnsafeMutableRawBufferPointer) throws(ConversionProblem) -> Int {
        precondition(output.count >= Self.outputCapacity(forInputCount: 0), "output buffer too small")
        let target = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var written = 0
        if !start.isDone { written = try convertStart(into: target) }
        if !started { written += writeStart(to: target + written) }
        if pending.count > 0 {
            throw .unreadable(DecodingProblem(kind: .truncated, encoding: source, position: position, bytes: pending.bytes))
        }
        if heldCarriageReturn {
            target[written] = 0x0D
            written += 1
            heldCarriageReturn = false
        }
        return written
    }

    /// Ends the text, appending what is left to `output`.
    public mutating func finish(appendingTo output: inout [UInt8]) throws(ConversionProblem) {
        var failure: ConversionProblem?
        output.append(addingCapacity: Self.outputCapacity(forInputCount: 0)) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                do throws(ConversionProblem) {
                    initialized = try finish(into: UnsafeMutableRawBufferPointer(buffer))
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    // MARK: - The loop

    /// Looks at a UTF-8 source's first bytes for a byte order mark, then converts them.
    private mutating func convertStart(into output: UnsafeMutablePointer<UInt8>) throws(ConversionProblem) -> Int {
        let first = start.finish()
        var skip = 0
        switch start.verdict(first) {
        case .text: break
        case .skipMark: skip = byteOrderMark.count
        case .problem(let kind, _): throw .unreadable(DecodingProblem(kind: kind, encoding: source, position: .start, bytes: first))
        }
        position.offset += skip
        let text = Array(first.dropFirst(skip))
        if text.isEmpty { return started ? 0 : writeStart(to: output) }
        return try text.withUnsafeBufferPointer { buffer throws(ConversionProblem) in
            try convertText(buffer.baseAddress!, count: buffer.count, into: output)
        }
    }

    private mutating func convertText(_ input: UnsafePointer<UInt8>, count: Int, into output: UnsafeMutablePointer<UInt8>) throws(ConversionProblem) -> Int {
        let written = started ? 0 : writeStart(to: output)
        guard count > 0 else { return written }
        switch source {
        case .utf8, .utf8BOM: return try written + convert(input, count: count, into: output + written, reader: UTF8Reader())
        case .cp932: return try written + convert(input, count: count, into: output + written, reader: ShiftJISReader(table: CodeTable.cp932))
        case .shiftJIS: return try written + convert(input, count: count, into: output + written, reader: ShiftJISReader(table: CodeTable.shiftJIS))
        case .eucJP: return try written + convert(input, count: count, into: output + written, reader: EUCJPReader(table: CodeTable.eucJP))
        }
    }

    private mutating func convert<Reader: CharacterReader>(
        _ input: UnsafePointer<UInt8>, count: Int, into output: UnsafeMutablePointer<UInt8>, reader: Reader
    ) throws(ConversionProblem) -> Int {
        switch target {
        case .utf8, .utf8BOM:
            return try convert(input, count: count, into: output, reader: reader, writer: UTF8Writer())
        case .cp932:
            return try convert(input, count: count, into: output, reader: reader, writer: ShiftJISWriter(table: CodeTable.cp932Encoding))
        case .shiftJIS:
            return try convert(input, count: count, into: output, reader: reader, writer: ShiftJISWriter(table: CodeTable.shiftJISEncoding))
        case .eucJP:
            return try convert(input, count: count, into: output, reader: reader, writer: EUCJPWriter(table: CodeTable.eucJPEncoding))
        }
    }

    private mutating func convert<Reader: CharacterReader, Writer: CharacterWriter>(
        _ input: UnsafePointer<UInt8>, count: Int, into output: UnsafeMutablePointer<UInt8>, reader: Reader, writer: Writer
    ) throws(ConversionProblem) -> Int {
        var index = 0
        var written = 0
        if pending.count > 0 {
            let (step, taken) = pending.read(with: reader, then: input, count: count)
            if case .incomplete = step {
                pending.append(input, count: taken)
                endedWithCarriageReturn = false
                return written
            }
            switch step {
            case .scalar(let value, let length):
                let at = position
                written += try write(value, with: writer, to: output + written, at: at)
                position.offset += length
                position.column += 1
            case .problem(let kind, let length):
                throw .unreadable(DecodingProblem(kind: kind, encoding: source, position: position, bytes: pending.prefix(length, then: input, count: count)))
            case .incomplete:
                break
            }
            pending.removeAll()
            index = taken
        }
        return try convertRest(input, from: index, count: count, into: output, written: written, reader: reader, writer: writer)
    }

    /// The chunk from `start`, with no character pending before it.
    @inline(__always)
    private mutating func convertRest<Reader: CharacterReader, Writer: CharacterWriter>(
        _ input: UnsafePointer<UInt8>, from start: Int, count: Int, into output: UnsafeMutablePointer<UInt8>, written: Int,
        reader: Reader, writer: Writer
    ) throws(ConversionProblem) -> Int {
        let chunkOffset = position.offset - start  // the offset of input[0]
        var index = start
        var written = written
        var line = position.line
        var column = position.column
        defer {
            position.offset = chunkOffset + index
            position.line = line
            position.column = column
            endedWithCarriageReturn = input[count - 1] == 0x0D
        }
        let newlines = self.newlines
        if heldCarriageReturn, index < count {
            heldCarriageReturn = false
            if input[index] != 0x0A {
                output[written] = 0x0D
                written += 1
            }
        }
        // Eight ASCII bytes at a time while none is a line ending this loop must look at.
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let ones: UInt64 = 0x0101_0101_0101_0101
        let lineFeeds = ones &* 0x0A
        let carriageReturns = newlines == .lf ? ones &* 0x0D : lineFeeds  // only .lf changes a CR
        while index < count {
            while index &+ 8 <= count {
                let word = UnsafeRawPointer(input + index).loadUnaligned(as: UInt64.self)
                let lf = word ^ lineFeeds, cr = word ^ carriageReturns
                // A byte of `lf` or `cr` is zero where the word has that byte (no high bit is set here).
                let hasLineEnding = ((lf &- ones) & ~lf | (cr &- ones) & ~cr) & highBits
                if (word & highBits) | hasLineEnding != 0 { break }
                UnsafeMutableRawPointer(output + written).storeBytes(of: word, as: UInt64.self)
                index &+= 8
                written &+= 8
                column &+= 8
            }
            if index >= count { break }
            let byte = input[index]
            if byte < 0x80 {
                switch byte {
                case 0x0A:
                    if newlines == .crlf, !(index > 0 ? input[index - 1] == 0x0D : endedWithCarriageReturn) {
                        output[written] = 0x0D
                        written &+= 1
                    }
                    output[written] = 0x0A
                    written &+= 1
                    line &+= 1
                    column = 0
                case 0x0D where newlines == .lf:
                    if index &+ 1 == count {
                        heldCarriageReturn = true
                    } else if input[index &+ 1] != 0x0A {
                        output[written] = 0x0D
                        written &+= 1
                    }
                default:
                    output[written] = byte
                    written &+= 1
                }
                index &+= 1
                column &+= 1
                continue
            }
            // Other characters come in runs (a name, an address): stay here while they last.
            repeat {
                switch reader.read(input + index, count: count &- index) {
                case .scalar(let value, let length):
                    let at = TextPosition(offset: chunkOffset + index, line: line, column: column)
                    written &+= try write(value, with: writer, to: output + written, at: at)
                    index &+= length
                    column &+= 1
                case .problem(let kind, let length):
                    let at = TextPosition(offset: chunkOffset + index, line: line, column: column)
                    throw .unreadable(DecodingProblem(kind: kind, encoding: source, position: at, bytes: Array(UnsafeBufferPointer(start: input + index, count: length))))
                case .incomplete:
                    pending.append(input + index, count: count &- index)
                    return written
                }
            } while index < count && input[index] >= 0x80
        }
        return written
    }

    /// Writes a scalar, or its replacement, or stops.
    @inline(__always)
    private mutating func write<Writer: CharacterWriter>(
        _ value: UInt32, with writer: Writer, to output: UnsafeMutablePointer<UInt8>, at position: @autoclosure () -> TextPosition
    ) throws(ConversionProblem) -> Int {
        let count = writer.write(value, to: output)
        if count > 0 { return count }
        return try replace(value, to: output, at: position())
    }

    private mutating func replace(_ value: UInt32, to output: UnsafeMutablePointer<UInt8>, at position: TextPosition) throws(ConversionProblem) -> Int {
        let problem = UnencodableCharacter(scalar: unsafeBitCast(value, to: Unicode.Scalar.self), encoding: target, position: position)
        guard case .replace = unencodable else { throw .unwritable(problem) }
        replacements += 1
        if firstReplaced == nil { firstReplaced = problem }
        withUnsafeBytes(of: replacementBytes.0) { bytes in
            for index in 0..<replacementBytes.count { output[index] = bytes[index] }
        }
        return replacementBytes.count
    }

    /// The text starts: a `utf-8-bom` target gets its byte order mark.
    private mutating func writeStart(to output: UnsafeMutablePointer<UInt8>) -> Int {
        started = true
        guard target == .utf8BOM else { return 0 }
        for (index, byte) in byteOrderMark.enumerated() { output[index] = byte }
        return byteOrderMark.count
    }

    private static func write(_ scalar: UInt32, in encoding: TextEncoding, to output: UnsafeMutablePointer<UInt8>) -> Int {
        switch encoding {
        case .utf8, .utf8BOM: UTF8Writer().write(scalar, to: output)
        case .cp932: ShiftJISWriter(table: CodeTable.cp932Encoding).write(scalar, to: output)
        case .shiftJIS: ShiftJISWriter(table: CodeTable.shiftJISEncoding).write(scalar, to: output)
        case .eucJP: EUCJPWriter(table: CodeTable.eucJPEncoding).write(scalar, to: output)
        }
    }
}

/// Why a conversion stopped.
public enum ConversionProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The source is not text in its declared encoding there.
    case unreadable(DecodingProblem)
    /// The target cannot write a character of the source.
    case unwritable(UnencodableCharacter)

    public var description: String {
        switch self {
        case .unreadable(let problem): problem.description
        case .unwritable(let problem): problem.description
        }
    }
}
