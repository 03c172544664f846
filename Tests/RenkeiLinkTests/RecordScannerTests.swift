import Testing
@testable import RenkeiCore
@testable import RenkeiLink

/// Records and fields read from bytes, fed in chunks of every size.
@Suite struct RecordScannerTests {
    struct Seen: Equatable {
        var number: Int
        var offset: Int64
        var fields: [String]
        var problems: [String]
    }

    func scan(_ text: String, format: LinkStep.Format = .csv, newline: LinkStep.Newline = .any, length: Int = 0, chunk: Int = 1 << 16) -> [Seen] {
        var scanner = RecordScanner(format: format, newline: newline, recordLength: length)
        var seen: [Seen] = []
        let collect: (RecordScanner.Record) -> Void = { record in
            seen.append(Seen(number: record.number, offset: record.offset,
                             fields: record.fields.indices.map { String(decoding: record.content(ofField: $0), as: UTF8.self) },
                             problems: record.problems.map { "@\($0.offset) expected \($0.expected), found \($0.found)" }))
        }
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            bytes[start..<end].withUnsafeBytes { scanner.feed($0, emit: collect) }
            start = end
        }
        scanner.finish(emit: collect)
        return seen
    }

    @Test(arguments: [1, 2, 3, 7, 1 << 16])
    func quotedCommasNewlinesAndQuotes(chunk: Int) {
        let text = "id,name,memo\r\n1,\"Yamada, Taro\",\"line one\r\nline two\"\r\n2,\"say \"\"hi\"\"\",\r\n"
        #expect(scan(text, newline: .crlf, chunk: chunk) == [
            Seen(number: 1, offset: 0, fields: ["id", "name", "memo"], problems: []),
            Seen(number: 2, offset: 14, fields: ["1", "Yamada, Taro", "line one\r\nline two"], problems: []),
            Seen(number: 3, offset: 53, fields: ["2", "say \"hi\"", ""], problems: []),
        ])
    }

    @Test func newlineRules() {
        #expect(scan("a\nb\r\n", newline: .crlf).map(\.problems) == [["@1 expected CR LF, found LF alone"], []])
        #expect(scan("a\nb\r\n", newline: .lf).map(\.problems) == [[], ["@3 expected LF, found CR LF"]])
        #expect(scan("a\nb\r\nc", newline: .any).allSatisfy { $0.problems.isEmpty })
        #expect(scan("a\rb\n", newline: .any).map(\.problems) == [["@1 expected CR LF, found CR alone"]])
    }

    @Test func quoteProblems() {
        #expect(scan("a,b\"c\n").first?.problems == ["@3 expected quotes only around a whole field, found a quote inside an unquoted field"])
        #expect(scan("\"a\"x,b\n").first?.problems == ["@3 expected a comma or the record's end after a closing quote, found 'x'"])
        #expect(scan("1,\"open\n2,3\n").first?.problems == ["@0 expected a closing quote, found the end of the file inside a quoted field that starts at byte 2"])
    }

    @Test(arguments: [1, 5, 100])
    func fixedLengthRecords(chunk: Int) {
        #expect(scan("12345\r\n123\r\n12345", format: .fixed, newline: .crlf, length: 5, chunk: chunk).map(\.problems)
                == [[], ["@7 expected 5 bytes, found 3 bytes"], []])
        #expect(scan("1234512345123", format: .fixed, newline: .none, length: 5, chunk: chunk).map(\.fields)
                == [["12345"], ["12345"], ["123"]])
        #expect(scan("1234512345123", format: .fixed, newline: .none, length: 5, chunk: chunk).last?.problems
                == ["@10 expected 5 bytes, found 3 bytes at the end of the file"])
    }

    /// A record can hold a problem per byte; only the first few are kept, and the rest counted, so
    /// that memory does not grow with the file.
    @Test(arguments: [1, 7, 1 << 16])
    func aRecordKeepsItsFirstProblemsAndCountsTheRest(chunk: Int) {
        var scanner = RecordScanner(format: .csv, newline: .crlf, problemsKept: 5)
        var kept: [[Int64]] = []
        var unlisted: [Int] = []
        let collect: (RecordScanner.Record) -> Void = { record in
            kept.append(record.problems.map(\.offset))
            unlisted.append(record.unlisted)
        }
        let bytes = Array(String(repeating: "a\r", count: 30).utf8) + Array("\r\nb\rc\r\n".utf8)
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            bytes[start..<end].withUnsafeBytes { scanner.feed($0, emit: collect) }
            start = end
        }
        scanner.finish(emit: collect)
        // Thirty bare CRs, then the CR LF that ends the record; the next record has one bare CR.
        #expect(kept == [[1, 3, 5, 7, 9], [63]])
        #expect(unlisted == [25, 0])
    }

    @Test func fieldHoldingAnOffset() {
        var scanner = RecordScanner(format: .csv, newline: .any)
        var fieldsOf: [Int] = []
        Array("ab,cd,ef".utf8).withUnsafeBytes { scanner.feed($0) { _ in } }
        scanner.finish { record in fieldsOf = [0, 1, 2, 3, 5, 6, 7].map { record.field(holding: $0) } }
        #expect(fieldsOf == [1, 1, 1, 2, 2, 3, 3])
    }
}
