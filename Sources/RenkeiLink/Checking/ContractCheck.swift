import RenkeiCore
import RenkeiEncoding

/// A file read against its link contract in one pass, chunk by chunk: encoding, newlines, layout,
/// header, columns, the record count and total the sender declared, and the characters allowed.
/// Pure: it is fed bytes and says what it found; `FileCheck` does the reading.
///
/// Every problem is counted; the first `listed` are kept with row, column and byte offset. Values
/// from the file are kept out of the messages where they could be a resident's data (a name, an
/// amount): a message names positions, code points and figures.
struct ContractCheck {
    /// One thing wrong with the file.
    struct Problem: Error, Equatable, CustomStringConvertible {
        /// 1-based record number (the header is row 1); nil for the file as a whole.
        var row: Int?
        /// csv: 1-based field; fixed: 1-based byte in the record.
        var column: Int?
        /// Byte offset in the file.
        var offset: Int64?
        var expected: String
        var found: String

        var description: String {
            var place: [String] = []
            if let row { place.append("row \(row)") }
            if let column { place.append("column \(column)") }
            var text = place.joined(separator: ", ")
            if let offset { text += (text.isEmpty ? "" : " ") + "(byte \(offset))" }
            return (text.isEmpty ? "" : text + ": ") + "expected \(expected), found \(found)"
        }
    }

    /// What the check came to.
    struct Verdict {
        /// Data records: every record but the header and the trailer.
        var records: Int
        var problems: Int
        var listed: [Problem]
        var declaredCount: Int64?
        var total: Int64?
        var declaredTotal: Int64?
    }

    let contract: LinkRequest.Check
    private let limit: Int
    private var scanner: RecordScanner
    private var decodingAs: TextEncoding
    private var repertoire: RenkeiEncoding.CharacterRepertoire?
    private let countPattern: Regex<AnyRegexOutput>?
    private let sumPattern: Regex<AnyRegexOutput>?

    private(set) var problemCount = 0
    private(set) var listed: [Problem] = []
    /// Records seen so far, header and trailer included.
    private var seen = 0
    private var dataRecords = 0
    private var total: Int64 = 0
    /// The latest record, held back until the next one shows it was not the trailer.
    private var held: Held?
    private var heldBytes: [UInt8] = []

    private struct Held {
        var number: Int
        var offset: Int64
        var fieldCount: Int
        /// Its value in the `sum` column, or the problem reading it.
        var value: Result<Int64, Problem>?
    }

    init(_ contract: LinkRequest.Check) {
        self.contract = contract
        limit = LinkResult.Findings.listed
        scanner = RecordScanner(format: contract.format, newline: contract.newline, recordLength: contract.recordLength ?? 0, problemsKept: limit)
        decodingAs = TextEncoding(contract.encoding)
        repertoire = contract.characters.flatMap { RenkeiEncoding.CharacterRepertoire(rawValue: $0.rawValue) }
        if case .trailer(let pattern) = contract.count { countPattern = try? Regex(pattern) } else { countPattern = nil }
        if case .trailer(let pattern)? = contract.sum?.declared { sumPattern = try? Regex(pattern) } else { sumPattern = nil }
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) {
        var scanner = self.scanner
        scanner.feed(chunk) { record in self.take(record) }
        self.scanner = scanner
    }

    /// Ends the file; `controlFigures` are the first numbers of the count's and the sum's control files.
    mutating func finish(controlCount: Result<Int64, Problem>? = nil, controlTotal: Result<Int64, Problem>? = nil) -> Verdict {
        var scanner = self.scanner
        scanner.finish { record in self.take(record) }
        self.scanner = scanner
        var declaredCount: Int64?
        var declaredTotal: Int64?
        if let held {
            let trailerText = String(decoding: transcode(heldBytes), as: UTF8.self)
            let countFigure = countPattern.flatMap { Self.figure(in: trailerText, $0) }
            let sumFigure = sumPattern.flatMap { Self.figure(in: trailerText, $0) }
            let isTrailer = countFigure != nil || sumFigure != nil
            if !isTrailer { settle(held) }
            let countMissing = countPattern != nil && countFigure == nil
            if countMissing {
                report(Problem(row: held.number, offset: held.offset, expected: "a last record (trailer) matching \(Self.pattern(contract.count))",
                               found: "a record that does not"))
            }
            if sumPattern != nil, sumFigure == nil, !countMissing {
                report(Problem(row: held.number, offset: held.offset, expected: "a last record (trailer) matching \(Self.pattern(contract.sum?.declared))",
                               found: "a record that does not"))
            }
            declaredCount = countFigure
            declaredTotal = sumFigure
        } else if countPattern != nil || sumPattern != nil {
            report(Problem(expected: "a trailer record", found: "an empty file"))
        }
        if case .success(let figure)? = controlCount { declaredCount = figure }
        if case .failure(let problem)? = controlCount { report(problem) }
        if case .success(let figure)? = controlTotal { declaredTotal = figure }
        if case .failure(let problem)? = controlTotal { report(problem) }
        if let header = contract.header, seen == 0 {
            report(Problem(row: 1, expected: "the header \(header.joined(separator: ","))", found: "an empty file"))
        }
        if let declaredCount, declaredCount != Int64(dataRecords) {
            report(Problem(expected: "\(declaredCount) records (as \(Self.source(contract.count)) declares)", found: "\(dataRecords) records"))
        }
        if let sum = contract.sum, let declaredTotal, declaredTotal != total {
            report(Problem(expected: "a total of \(declaredTotal) in column \(sum.column) (as \(Self.source(sum.declared)) declares)", found: "\(total)"))
        }
        return Verdict(records: dataRecords, problems: problemCount, listed: listed, declaredCount: declaredCount,
                       total: contract.sum == nil ? nil : total, declaredTotal: declaredTotal)
    }

    // MARK: - One record

    private mutating func take(_ record: RecordScanner.Record) {
        seen += 1
        for problem in record.problems {
            report(Problem(row: record.number, column: nil, offset: problem.offset, expected: problem.expected, found: problem.found))
        }
        problemCount += record.unlisted
        decode(record)
        if record.number == 1, let header = contract.header {
            checkHeader(record, header)
            return
        }
        // The record before this one was not the last: it is data.
        if let held { settle(held) }
        var next = Held(number: record.number, offset: record.offset, fieldCount: record.fields.count)
        if let sum = contract.sum, contract.format == .csv {
            next.value = value(of: record, column: sum.column)
        }
        held = next
        if countPattern != nil || sumPattern != nil {
            // Raw: only the last record is ever decoded, at the end.
            heldBytes.removeAll(keepingCapacity: true)
            heldBytes.append(contentsOf: record.bytes)
        }
    }

    /// A record known to be data: counted, its columns checked, its value added.
    private mutating func settle(_ record: Held) {
        dataRecords += 1
        if let columns = contract.columns, contract.format == .csv, record.fieldCount != columns {
            report(Problem(row: record.number, offset: record.offset, expected: "\(columns) fields", found: "\(record.fieldCount) fields"))
        }
        switch record.value {
        case .success(let value)?: total &+= value
        case .failure(let problem)?: report(problem)
        case nil: break
        }
    }

    private mutating func checkHeader(_ record: RecordScanner.Record, _ header: [String]) {
        var found = record.fields.indices.map { String(decoding: transcode(record.content(ofField: $0)), as: UTF8.self) }
        // A utf-8-bom file's mark is not part of its first field.
        if let first = found.first, first.unicodeScalars.first == "\u{FEFF}" { found[0] = String(first.unicodeScalars.dropFirst()) }
        // What was found is never quoted: a file without its header has a resident's record on its
        // first line, and this text reaches the run's error line, mail, journal and report.
        if found.count != header.count {
            report(Problem(row: 1, offset: record.offset, expected: "a header of \(header.count) fields (\(header.joined(separator: ",")))",
                           found: "\(found.count) fields (a header missing? see the file's first line)"))
            return
        }
        for (index, (expected, actual)) in zip(header, found).enumerated() where expected != actual {
            report(Problem(row: 1, column: index + 1, offset: record.offset + Int64(record.fields[index].lowerBound),
                           expected: "'\(expected)'", found: "another value of \(actual.count) characters"))
        }
    }

    /// Validity and characters of every byte of the record: the decoder's own loop reports only
    /// bad bytes and characters outside the set, without a call per character.
    private mutating func decode(_ record: RecordScanner.Record) {
        var decoder = TextDecoder(record.number == 1 ? decodingAs : decodingAs.withoutByteOrderMark)
        let repertoire = self.repertoire ?? .unicode
        var found: [Problem] = []
        // Only as many as can be listed are kept, the rest counted: a record of up to a MiB of
        // bytes that are not text (a binary file) would otherwise hold a problem for each.
        let kept = limit
        var unlisted = 0
        let csv = contract.format == .csv
        let handle: (TextDecoder.Event) -> Void = { event in
            let offset: Int
            let expected: String, what: String
            switch event {
            case .scalar(let scalar, let position):
                offset = position.offset
                expected = "a character of \(repertoire)"
                what = scalar.codePointDescription
            case .problem(let problem):
                offset = problem.position.offset
                expected = "text in \(problem.encoding)"
                what = problem.explanation
            }
            guard found.count < kept else { unlisted += 1; return }
            found.append(Problem(row: record.number, column: csv ? record.field(holding: offset) : offset + 1,
                                 offset: record.offset + Int64(offset), expected: expected, found: what))
        }
        decoder.check(UnsafeRawBufferPointer(record.bytes), characters: repertoire, handle)
        decoder.finish(characters: repertoire, handle)
        for problem in found { report(problem) }
        problemCount += unlisted
    }

    private func value(of record: RecordScanner.Record, column: Int) -> Result<Int64, Problem> {
        guard column <= record.fields.count else {
            return .failure(Problem(row: record.number, column: column, offset: record.offset, expected: "a number in column \(column)",
                                    found: "a record of \(record.fields.count) fields"))
        }
        let text = String(decoding: transcode(record.content(ofField: column - 1)), as: UTF8.self).trimmingSpaces
        guard let value = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
            return .failure(Problem(row: record.number, column: column, offset: record.offset + Int64(record.fields[column - 1].lowerBound),
                                    expected: "a whole number to add up", found: text.isEmpty ? "an empty field" : "something else"))
        }
        return .success(value)
    }

    /// Bytes of the file's encoding as UTF-8 (header fields, the trailer, a value to add up); bytes
    /// that do not decode are left out (they were reported already).
    private func transcode(_ bytes: [UInt8]) -> [UInt8] {
        if decodingAs == .utf8 || decodingAs == .utf8BOM { return bytes }
        var decoder = TextDecoder(decodingAs)
        var text = ""
        let handle: (TextDecoder.Event) -> Void = { event in
            if case .scalar(let scalar, _) = event { text.unicodeScalars.append(scalar) }
        }
        decoder.decode(bytes, handle)
        decoder.finish(handle)
        return Array(text.utf8)
    }

    private mutating func report(_ problem: Problem) {
        problemCount += 1
        if listed.count < limit {
            listed.append(problem)
        } else if problem.row == nil {
            // A problem of the whole file (a declared count or total that is not what the file
            // holds) is the one an operator must see: it takes the place of the last record's.
            listed[listed.count - 1] = problem
        }
    }

    private static func figure(in text: String, _ pattern: Regex<AnyRegexOutput>) -> Int64? {
        guard let match = try? pattern.wholeMatch(in: text) ?? pattern.firstMatch(in: text), match.count > 1,
              let captured = match[1].substring else { return nil }
        return Int64(captured.trimmingSpaces)
    }

    private static func pattern(_ declared: LinkStep.Declared?) -> String {
        if case .trailer(let pattern)? = declared { return pattern }
        return "?"
    }

    private static func source(_ declared: LinkStep.Declared?) -> String {
        switch declared {
        case .trailer?: "the trailer"
        case .controlFile(let path)?: "the control file \(path)"
        case nil: "?"
        }
    }
}

extension TextEncoding {
    init(_ encoding: LinkStep.Encoding) {
        switch encoding {
        case .utf8: self = .utf8
        case .utf8BOM: self = .utf8BOM
        case .cp932: self = .cp932
        case .shiftJIS: self = .shiftJIS
        case .eucJP: self = .eucJP
        }
    }

    /// Records after the first are read without looking for the file's byte order mark.
    var withoutByteOrderMark: TextEncoding { self == .utf8BOM ? .utf8 : self }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\u{3000}" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\u{3000}" { text = text.dropLast() }
        return String(text)
    }
}
