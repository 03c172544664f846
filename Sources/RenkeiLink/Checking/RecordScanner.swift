import RenkeiCore

/// Splits a file's bytes into records and (for CSV) fields, one chunk at a time, without decoding:
/// in every encoding a link uses (UTF-8, CP932/Shift_JIS, EUC-JP), the bytes of `,` `"` CR and LF
/// never occur inside a multi-byte character (Shift_JIS trail bytes start at 0x40), so the layout
/// can be read from the bytes and each record decoded afterwards.
///
/// A record is handed to `emit` as a borrowed view, valid during the call only: a 1 GiB file is
/// scanned with one reusable buffer, whatever its record count.
struct RecordScanner {
    /// One record as the scanner saw it.
    struct Record {
        /// 1-based, counting every record (the header and trailer too).
        var number: Int
        /// Byte offset of the record's first byte in the file.
        var offset: Int64
        /// The record's bytes without its terminator (CSV quotes included).
        var bytes: UnsafeBufferPointer<UInt8>
        /// CSV: each field's raw byte range in `bytes` (quotes included); fixed: one range, the record.
        var fields: [Range<Int>]
        /// Layout problems found in this record: (byte offset in the file, what was expected, what was found).
        var problems: [(offset: Int64, expected: String, found: String)]
        /// Problems found in this record beyond the first `problemsKept`: counted, not kept.
        var unlisted: Int
    }

    let format: LinkStep.Format
    let newline: LinkStep.Newline
    let recordLength: Int

    /// The record being collected (CSV, or fixed records with newlines).
    private var buffer: [UInt8] = []
    private var fields: [Range<Int>] = []
    private var fieldStart = 0
    private var inQuotes = false
    /// The previous byte inside quotes was a quote: either the closing one or the first of `""`.
    private var quotePending = false
    /// A CR was seen outside quotes; the next byte decides whether it ends the record.
    private var carriageReturn = false
    private var recordNumber = 0
    private var recordOffset: Int64 = 0
    /// Bytes consumed so far.
    private var position: Int64 = 0
    private var problems: [(offset: Int64, expected: String, found: String)] = []
    /// How many of a record's problems are kept; the rest are only counted. A record can hold a
    /// problem per byte (an old Mac file's bare CRs, all one record to a CR LF check), and a
    /// check lists no more than its first few problems anyway: keeping them all made memory grow
    /// with the file (a 32 MiB file of CR-ended lines took 256 MB).
    let problemsKept: Int
    private var unlisted = 0
    /// Records longer than this are not kept whole (a newline missing for a whole file).
    static let longestRecord = 1 << 20
    private var overlong = false

    init(format: LinkStep.Format, newline: LinkStep.Newline, recordLength: Int = 0, problemsKept: Int = 20) {
        self.format = format
        self.newline = newline
        self.recordLength = recordLength
        self.problemsKept = problemsKept
        buffer.reserveCapacity(4096)
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (Record) -> Void) {
        if format == .fixed && newline == .none {
            feedFixedWithoutNewlines(chunk, emit: emit)
            return
        }
        for byte in chunk.bindMemory(to: UInt8.self) {
            consume(byte, emit: emit)
            position += 1
        }
    }

    mutating func finish(emit: (Record) -> Void) {
        if format == .fixed && newline == .none {
            if !buffer.isEmpty {
                note(recordOffset, "\(recordLength) bytes", "\(buffer.count) bytes at the end of the file")
                emitRecord(emit)
            }
            return
        }
        if carriageReturn {
            // A CR as the file's last byte: a CRLF cut short, or a bare CR.
            if newline == .lf { note(position - 1, "LF", "CR") } else if newline == .crlf { note(position - 1, "CR LF", "CR alone") }
            carriageReturn = false
        }
        if inQuotes && !quotePending {
            note(recordOffset, "a closing quote", "the end of the file inside a quoted field that starts at byte \(recordOffset + Int64(fieldStart))")
        }
        if !buffer.isEmpty || !fields.isEmpty || !problems.isEmpty || unlisted > 0 {
            endRecord(emit)
        }
    }

    // MARK: - Line-based records (CSV, fixed with newlines)

    private mutating func consume(_ byte: UInt8, emit: (Record) -> Void) {
        if buffer.isEmpty && fields.isEmpty && !carriageReturn && !inQuotes {
            recordOffset = position
        }
        if carriageReturn {
            carriageReturn = false
            if byte == 0x0A {
                if newline == .lf { note(position - 1, "LF", "CR LF") }
                endRecord(emit)
                return
            }
            // A CR not followed by LF ends nothing: it is a stray byte of the record.
            note(position - 1, newline == .lf ? "LF" : "CR LF", "CR alone")
            append(0x0D)
        }
        if format == .csv {
            if inQuotes {
                if quotePending {
                    quotePending = false
                    if byte == 0x22 { append(byte); return }    // "" inside quotes
                    inQuotes = false                             // the closing quote; fall through
                } else {
                    if byte == 0x22 { quotePending = true }
                    append(byte)
                    return
                }
                if byte != 0x2C && byte != 0x0D && byte != 0x0A {
                    note(position, "a comma or the record's end after a closing quote", describe(byte))
                }
            }
            switch byte {
            case 0x2C:
                // Past the kept bytes a record's fields are not kept either: a file whose records
                // never end (bare CRs) would otherwise keep a range for every comma in it.
                if !overlong { fields.append(fieldStart..<buffer.count) }
                append(byte)
                fieldStart = buffer.count
                return
            case 0x22:
                if buffer.count == fieldStart {
                    inQuotes = true
                } else {
                    note(position, "quotes only around a whole field", "a quote inside an unquoted field")
                }
                append(byte)
                return
            default:
                break
            }
        }
        switch byte {
        case 0x0D:
            carriageReturn = true
        case 0x0A:
            if newline == .crlf { note(position, "CR LF", "LF alone") }
            endRecord(emit)
        default:
            append(byte)
        }
    }

    private mutating func append(_ byte: UInt8) {
        if buffer.count < Self.longestRecord {
            buffer.append(byte)
        } else if !overlong {
            overlong = true
            note(position, "a record end within \(Self.longestRecord) bytes", "a longer record (is the newline setting right?)")
        }
    }

    private mutating func endRecord(_ emit: (Record) -> Void) {
        if format == .csv {
            fields.append(fieldStart..<buffer.count)
        } else {
            fields = [0..<buffer.count]
            if buffer.count != recordLength && !overlong {
                note(recordOffset, "\(recordLength) bytes", "\(buffer.count) bytes")
            }
        }
        emitRecord(emit)
    }

    private mutating func emitRecord(_ emit: (Record) -> Void) {
        recordNumber += 1
        if format == .fixed && fields.isEmpty { fields = [0..<buffer.count] }
        buffer.withUnsafeBufferPointer { bytes in
            emit(Record(number: recordNumber, offset: recordOffset, bytes: bytes, fields: fields, problems: problems, unlisted: unlisted))
        }
        buffer.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        problems.removeAll()
        unlisted = 0
        fieldStart = 0
        inQuotes = false
        quotePending = false
        overlong = false
    }

    // MARK: - Fixed-length records back to back

    private mutating func feedFixedWithoutNewlines(_ chunk: UnsafeRawBufferPointer, emit: (Record) -> Void) {
        var rest = chunk.bindMemory(to: UInt8.self)[...]
        while !rest.isEmpty {
            if buffer.isEmpty { recordOffset = position }
            let take = min(recordLength - buffer.count, rest.count)
            buffer.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            position += Int64(take)
            if buffer.count == recordLength {
                fields = [0..<recordLength]
                emitRecord(emit)
            }
        }
    }

    private mutating func note(_ offset: Int64, _ expected: String, _ found: String) {
        if problems.count < problemsKept { problems.append((offset, expected, found)) } else { unlisted += 1 }
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
    }
}

extension RecordScanner.Record {
    /// A CSV field's content: the bytes between its quotes with `""` made one quote, or the field as it is.
    func content(ofField index: Int) -> [UInt8] {
        let range = fields[index]
        let raw = bytes[range]
        guard raw.count >= 2, raw.first == 0x22, raw.last == 0x22 else { return Array(raw) }
        var content: [UInt8] = []
        content.reserveCapacity(raw.count - 2)
        var previousQuote = false
        for byte in raw.dropFirst().dropLast() {
            if byte == 0x22 && previousQuote { previousQuote = false; continue }
            previousQuote = byte == 0x22
            content.append(byte)
        }
        return content
    }

    /// The 1-based field that holds byte `offset` of the record.
    func field(holding offset: Int) -> Int {
        for (index, range) in fields.enumerated() where offset <= range.upperBound { return index + 1 }
        return max(fields.count, 1)
    }
}
