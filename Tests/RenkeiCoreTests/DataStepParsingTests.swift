import Testing
@testable import RenkeiCore

private func parse(_ text: String, companion: [String: String] = [:]) -> Result<Job, JobFileFailure> {
    JobFileParser.parse(file: "Jobs/data.yaml", name: "data", bytes: Array(text.utf8), readCompanionFile: { name in
        companion[name].map { .success((path: "Jobs/" + name, text: $0)) } ?? .failure(CompanionFileError("Jobs/\(name): no such file"))
    })
}

private func problems(_ text: String, companion: [String: String] = [:]) -> [String] {
    switch parse(text, companion: companion) {
    case .success: return []
    case .failure(let failure): return failure.problems.map(\.description)
    }
}

/// `check:` and `convert:` as a job file writes them, and every mistake where it is.
@Suite struct DataStepParsingTests {
    @Test func checkParsesIntoTheModel() throws {
        let job = try parse(#"""
            steps:
              - name: check
                check:
                  file: in/IDO_{date:%Y%m%d}.csv
                  encoding: cp932
                  newline: crlf
                  format: csv
                  header: [異動日, 住民番号, 氏名, 異動事由]
                  columns: 4
                  count: { trailer: "^TRAILER,(\\d+)$" }
                  sum: { column: 2, trailer: "^TRAILER,\\d+,(\\d+)$" }
                  characters: jisx0208
              - name: fixed
                check: { file: in/ZENGIN.dat, encoding: shift_jis, format: fixed, record_length: 120, newline: none, count: { control_file: in/Z.ctl } }
            """#).get()
        #expect(job.steps[0].command == .link(.check(.init(
            file: "in/IDO_{date:%Y%m%d}.csv", encoding: .cp932, newline: .crlf, format: .csv, header: ["異動日", "住民番号", "氏名", "異動事由"],
            columns: 4, count: .trailer(#"^TRAILER,(\d+)$"#), sum: .init(column: 2, declared: .trailer(#"^TRAILER,\d+,(\d+)$"#)), characters: .jisx0208))))
        #expect(job.steps[1].command == .link(.check(.init(
            file: "in/ZENGIN.dat", encoding: .shiftJIS, newline: .none, format: .fixed, recordLength: 120, count: .controlFile("in/Z.ctl")))))
    }

    @Test func convertReadsItsSubstitutionTable() throws {
        let job = try parse("""
            steps:
              - name: convert
                convert: { file: in/IDO.csv, to: out/IDO.csv, from: cp932, to_encoding: utf-8, newline: lf, unmappable: substitute, substitutions: gaiji.tsv }
            """, companion: ["gaiji.tsv": "# 外字の縮退\nU+20BB7\t吉\n髙\t高\n"]).get()
        #expect(job.steps[0].command == .link(.convert(.init(
            file: "in/IDO.csv", to: "out/IDO.csv", from: .cp932, toEncoding: .utf8, newline: .lf, unmappable: .substitute,
            substitutions: [0x20BB7: "吉", 0x9AD9: "高"], substitutionsFile: "gaiji.tsv"))))
    }

    @Test func substitutionTableMistakesPointIntoTheTable() {
        #expect(problems("steps:\n  - name: c\n    convert: { file: a, to: b, from: cp932, to_encoding: utf-8, unmappable: substitute, substitutions: g.tsv }\n",
                         companion: ["g.tsv": "U+20BB7\t吉\nU+ZZZZ\tx\n"])
            == ["Jobs/g.tsv:2:1: error: 'U+ZZZZ' is not one character: write its code point as U+XXXX (4 to 6 hex digits) or the character itself"])
        #expect(problems("steps:\n  - name: c\n    convert: { file: a, to: b, from: cp932, to_encoding: utf-8, unmappable: substitute, substitutions: g.tsv }\n",
                         companion: ["g.tsv": "U+20BB7 吉\n"])
            == ["Jobs/g.tsv:1:1: error: expected 'U+XXXX<TAB>replacement', such as 'U+20BB7\t吉' (a tab between the two)"])
        #expect(problems("steps:\n  - name: c\n    convert: { file: a, to: b, from: cp932, to_encoding: utf-8, unmappable: substitute, substitutions: none.tsv }\n")
            == ["Jobs/data.yaml:3:104: error: cannot read the substitution table 'none.tsv': Jobs/none.tsv: no such file"])
        #expect(problems("steps:\n  - name: c\n    convert: { file: a, to: b, from: cp932, to_encoding: utf-8, substitutions: g.tsv }\n", companion: ["g.tsv": ""])
            == ["Jobs/data.yaml:3:80: error: 'substitutions' goes with 'unmappable: substitute'"])
    }

    @Test func checkMistakes() {
        #expect(problems("steps:\n  - name: c\n    check: { file: a.csv }\n")
            == ["Jobs/data.yaml:3:12: error: 'check' needs 'encoding:', the file's encoding: utf-8 | utf-8-bom | cp932 | shift_jis | euc-jp"])
        #expect(problems("steps:\n  - name: c\n    check: { file: a.csv, encoding: sjis }\n")
            == ["Jobs/data.yaml:3:37: error: 'check.encoding' must be one of utf-8, utf-8-bom, cp932, shift_jis, euc-jp, found 'sjis'"])
        #expect(problems("steps:\n  - name: c\n    check: { file: a, encoding: cp932, format: fixed }\n")
            == ["Jobs/data.yaml:3:12: error: 'format: fixed' needs 'record_length:', the bytes of one record in the file's encoding (120 for Zengin)"])
        #expect(problems("steps:\n  - name: c\n    check: { file: a, encoding: cp932, columns: 3, header: [a, b] }\n")
            == ["Jobs/data.yaml:3:49: error: 'check.columns' is 3 but 'header' names 2 fields"])
        #expect(problems("steps:\n  - name: c\n    check: { file: a, encoding: cp932, count: { trailer: \"^T,\\\\d+$\" } }\n")
            == ["Jobs/data.yaml:3:58: error: 'check.count.trailer' needs a group that captures the figure, such as \"^TRAILER,(\\\\d+)$\""])
        #expect(problems("steps:\n  - name: c\n    check: { file: a, encoding: cp932, count: { trailer: \"(\", control_file: x } }\n").count == 1)
        #expect(problems("steps:\n  - name: c\n    check: { file: a, encoding: cp932, charset: jisx0208 }\n")
            == ["Jobs/data.yaml:3:40: error: unknown key 'charset' in check; allowed keys: file, encoding, newline, format, header, columns, record_length, count, sum, characters"])
    }

    @Test func capturingGroupsAreCountedAsRegexesCountThem() {
        #expect(JobFileParser.capturingGroups(in: #"^TRAILER,(\d+)$"#) == 1)
        #expect(JobFileParser.capturingGroups(in: #"^(?:T|E),(\d+),(\d+)$"#) == 2)
        #expect(JobFileParser.capturingGroups(in: #"^T\(x\),[(]\d+$"#) == 0)
        #expect(JobFileParser.capturingGroups(in: #"^(?<count>\d+)$"#) == 1)
        #expect(JobFileParser.capturingGroups(in: #"^(?=x)\d+$"#) == 0)
    }
}
