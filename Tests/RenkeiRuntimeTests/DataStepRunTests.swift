import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// `check` and `convert` inside real runs (`renkeictl run --local` starts the real
/// `renkeictl link-step` process for each and records what it answered), and on a big file under
/// the real binary, whose peak memory the kernel reports.
@Suite(.serialized) struct DataStepRunTests {
    // MARK: - In a run

    static func job(source: String) -> String {
        """
        timezone: Asia/Tokyo
        steps:
          - name: fetch
            run: ["/bin/cp", "\(source)", "IDO.csv"]
          - name: check
            check:
              file: IDO.csv
              encoding: cp932
              newline: crlf
              header: [異動日, 住民番号, 氏名, 異動事由]
              columns: 4
              count: { trailer: "^TRAILER,(\\\\d+)$" }
              characters: jisx0208
          - name: convert
            convert: { file: IDO.csv, to: out/IDO.csv, from: cp932, to_encoding: utf-8, newline: lf }
        """
    }

    @Test func aCountThatDiffersFailsTheRunWithDataAndShowListsTheProblems() throws {
        let scratch = try Scratch()
        let source = scratch.root + "/IDO.csv"
        scratch.writeJob("data", Self.job(source: source))
        func run(_ date: String) throws -> Finished {
            try execute(renkeictl, ["run", "data", "--local", "--logical-time", "\(date) 06:30", "--jobs", scratch.jobs, "--state", scratch.state])
        }

        // The trailer declares twice the records the file has.
        try iconvFile(Self.exportText(records: 517, declared: 1034), to: source)
        #expect(try run("2026-12-01").status == 1)
        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let counted = try #require(try store.detail(runID: 1))
        #expect(counted.run.state == .failed)
        #expect(counted.run.errorClass == .data)
        #expect(counted.run.failedStep == "check")
        #expect(counted.run.errorMessage?.contains("IDO.csv breaks its contract: 1 problem; expected 1034 records (as the trailer declares), found 517 records") == true,
                "\(counted.run.errorMessage ?? "")")
        #expect(counted.steps.map(\.state) == [.succeeded, .failed, .notRun])
        #expect(counted.files.map(\.direction) == [.checked])
        #expect(counted.files.map(\.outcome) == [.failedCheck])
        #expect(counted.files.map(\.records) == [517])
        #expect(!FileManager.default.fileExists(atPath: scratch.state + "/work/data/1/out/IDO.csv"))

        // And a name with ① (NEC row 13: cp932, not JIS X 0208) in record 52, which is row 53: the
        // header and 51 records of 31 bytes each come before it (1,612), then 20261201,100052, (16)
        // and 山田 (4).
        try iconvFile(Self.exportText(records: 517, declared: 1034, oddOne: 52), to: source)
        #expect(try run("2026-12-02").status == 1)
        let show = try execute(renkeictl, ["show", "2", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(show.status == 0)
        #expect(show.stdout.contains("[data] "))
        #expect(show.stdout.contains("IDO.csv breaks its contract: 2 problems (517 records (1034 declared)); the first 2:"), "\(show.stdout)")
        #expect(show.stdout.contains("|   row 53, column 3 (byte 1632): expected a character of jisx0208, found U+2460 ①"))
        #expect(show.stdout.contains("|   expected 1034 records (as the trailer declares), found 517 records"))
        #expect(show.stdout.contains("failed check \(scratch.state)/work/data/2/IDO.csv"))
        let json = try Self.showJSON(2, scratch)
        #expect(json.errorClass == "data")
        // The figures the sender declared come first in the message: they are what the operator must see.
        #expect(json.errorMessage?.contains("2 problems; above all: expected 1034 records (as the trailer declares), found 517 records") == true)
        #expect(json.files.map(\.records) == [517])
    }

    @Test func aFileThatKeepsItsContractIsCheckedThenConvertedWithItsRecordCount() throws {
        let scratch = try Scratch()
        let source = scratch.root + "/IDO_20261201.csv"
        try iconvFile(Self.exportText(records: 517, declared: 517), to: source)
        scratch.writeJob("data", Self.job(source: source))
        let run = try execute(renkeictl, ["run", "data", "--local", "--logical-time", "2026-12-01 06:30", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")

        let json = try Self.showJSON(1, scratch)
        #expect(json.files.map(\.direction) == ["checked", "converted"])
        #expect(json.files.map(\.records) == [517, 517], "the converted file keeps the checked file's count")
        #expect(json.files.map(\.step) == ["check", "convert"])
        let work = scratch.state + "/work/data/1"
        #expect(json.files.map(\.path) == [work + "/IDO.csv", work + "/out/IDO.csv"])
        let converted = try #require(FileManager.default.contents(atPath: work + "/out/IDO.csv"))
        #expect(String(decoding: converted, as: UTF8.self) == Self.exportText(records: 517, declared: 517).replacingOccurrences(of: "\r\n", with: "\n"))

        let show = try execute(renkeictl, ["show", "1", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(show.stdout.contains("| checked \(work)/IDO.csv: "), "\(show.stdout)")
        #expect(show.stdout.contains("517 records (517 declared), cp932 csv: as agreed"))
        #expect(show.stdout.contains("converted \(work)/IDO.csv → \(work)/out/IDO.csv"))
    }

    // MARK: - Memory

    /// Big files are read in chunks: memory stays flat whatever the size. The figure is the
    /// kernel's peak resident set of the `renkeictl step` process (see `measure`). The debug build
    /// checks a few MB a second, so the suite's file is 64 MiB — 16 times the read chunk, 64 times
    /// the longest record kept — unless RENKEI_BIG_FILE_MIB says otherwise (the bench: 1024).
    @Test func aBigFileIsCheckedAndConvertedInFlatMemory() throws {
        let mebibytes = Int(ProcessInfo.processInfo.environment["RENKEI_BIG_FILE_MIB"] ?? "") ?? 64
        let scratch = try Scratch()
        let work = scratch.root + "/work"
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        scratch.writeJob("big", """
            steps:
              - name: check
                check:
                  file: BIG.csv
                  encoding: cp932
                  newline: crlf
                  header: [異動日, 住民番号, 氏名, 異動事由]
                  columns: 4
                  count: { trailer: "^TRAILER,(\\\\d+)$" }
                  characters: cp932
              - name: convert
                convert: { file: BIG.csv, to: out/BIG.csv, from: cp932, to_encoding: utf-8, newline: lf }
              - name: check-cr
                check: { file: CR.csv, encoding: cp932, newline: crlf, columns: 4 }
            """)
        let (records, utf8Bytes) = try Self.writeBigExport(work + "/BIG.csv", mebibytes: mebibytes)
        defer { unlink(work + "/BIG.csv"); unlink(work + "/out/BIG.csv") }

        let check = try measure(["step", "big", "check", "--work-dir", work, "--jobs", scratch.jobs, "--state", scratch.state], in: scratch)
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("\(records) records (\(records) declared), cp932 csv: as agreed"))
        #expect(check.peakMiB <= 64, "check of \(mebibytes) MiB peaked at \(check.peakMiB) MiB")

        let convert = try measure(["step", "big", "convert", "--work-dir", work, "--jobs", scratch.jobs, "--state", scratch.state], in: scratch)
        #expect(convert.status == 0, "\(convert.output)")
        let size = (try FileManager.default.attributesOfItem(atPath: work + "/out/BIG.csv")[.size] as? Int) ?? -1
        #expect(size == utf8Bytes)
        #expect(convert.peakMiB <= 64, "convert of \(mebibytes) MiB peaked at \(convert.peakMiB) MiB")

        // A file whose records end in bare CRs is, to a CR LF check, one record of every problem.
        unlink(work + "/BIG.csv")
        unlink(work + "/out/BIG.csv")
        let crCount = try Self.writeBareCRFile(work + "/CR.csv", mebibytes: mebibytes)
        defer { unlink(work + "/CR.csv") }
        let bare = try measure(["step", "big", "check-cr", "--work-dir", work, "--jobs", scratch.jobs, "--state", scratch.state], in: scratch)
        #expect(bare.status == 1)
        // Every bare CR, and the record longer than the scanner keeps.
        #expect(bare.output.contains("breaks its contract: \(crCount + 2) problems (1 records)"), "\(bare.output.prefix(2000))")
        #expect(bare.peakMiB <= 64, "check of \(mebibytes) MiB of bare CRs peaked at \(bare.peakMiB) MiB")
        print("big file \(mebibytes) MiB: check \(check.seconds) s, \(check.peakMiB) MiB; convert \(convert.seconds) s, \(convert.peakMiB) MiB; bare CRs \(bare.seconds) s, \(bare.peakMiB) MiB")
    }

    // MARK: - Helpers

    static func exportText(records: Int, declared: Int, oddOne: Int? = nil) -> String {
        var text = "異動日,住民番号,氏名,異動事由\r\n"
        for number in 1...records {
            text += "20261201,\(100_000 + number),\(number == oddOne ? "山田①" : "山田太郎"),転入\r\n"
        }
        return text + "TRAILER,\(declared)\r\n"
    }

    /// A cp932 export of about `mebibytes`, written a block at a time: (records, its size in utf-8 with LF).
    static func writeBigExport(_ path: String, mebibytes: Int) throws -> (records: Int, utf8Bytes: Int) {
        let header = "異動日,住民番号,氏名,異動事由\r\n"
        var block = ""
        for number in 0..<1000 { block += "20261201,\(1_000_000 + number),\"山田, 髙橋 ①\(number % 10)\",転入\r\n" }
        let blockPath = path + ".block"
        try iconvFile(block, to: blockPath)
        let blockBytes = try Data(contentsOf: URL(fileURLWithPath: blockPath))
        unlink(blockPath)
        let headerPath = path + ".header"
        try iconvFile(header, to: headerPath)
        let headerBytes = try Data(contentsOf: URL(fileURLWithPath: headerPath))
        unlink(headerPath)
        let blocks = mebibytes << 20 / blockBytes.count + 1
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: headerBytes)
        for _ in 0..<blocks { try handle.write(contentsOf: blockBytes) }
        let trailer = "TRAILER,\(blocks * 1000)\r\n"
        try handle.write(contentsOf: Data(trailer.utf8))
        try handle.close()
        let lf: (String) -> Int = { $0.replacingOccurrences(of: "\r\n", with: "\n").utf8.count }
        return (blocks * 1000, lf(header) + blocks * lf(block) + lf(trailer))
    }

    /// `mebibytes` of `1,2,3,4<CR>` records; returns how many CRs.
    static func writeBareCRFile(_ path: String, mebibytes: Int) throws -> Int {
        let line = Array("20261201,1000001,YAMADA,TENYU\r".utf8)
        let block = Data(Array(repeating: line, count: 1 << 14).flatMap { $0 })
        let blocks = max(1, mebibytes << 20 / block.count)
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for _ in 0..<blocks { try handle.write(contentsOf: block) }
        try handle.close()
        return blocks * (1 << 14)
    }

    struct ShowJSON {
        struct File {
            var step: String
            var direction: String
            var path: String
            var records: Int?
        }

        var errorClass: String?
        var errorMessage: String?
        var files: [File]
    }

    static func showJSON(_ run: Int, _ scratch: Scratch) throws -> ShowJSON {
        let shown = try execute(renkeictl, ["show", "\(run)", "--json", "--jobs", scratch.jobs, "--state", scratch.state])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let files = (object["files"] as? [[String: Any]] ?? []).map { file in
            ShowJSON.File(step: file["step"] as? String ?? "", direction: file["direction"] as? String ?? "", path: file["path"] as? String ?? "",
                          records: file["records"] as? Int)
        }
        return ShowJSON(errorClass: object["error_class"] as? String, errorMessage: object["error_message"] as? String, files: files)
    }
}

/// Writes `text` to `path` in cp932, as glibc's iconv does.
func iconvFile(_ text: String, to path: String) throws {
    let input = path + ".utf8"
    try Data(text.utf8).write(to: URL(fileURLWithPath: input))
    defer { unlink(input) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/iconv")
    process.arguments = ["-f", "UTF-8", "-t", "CP932", "-o", path, input]
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
}

/// A finished child with its peak resident memory.
struct Measured {
    var status: Int32
    var peakMiB: Int
    var seconds: Double
    var output: String
}

/// Runs `renkeictl` to its end under GNU time, which reads the child's peak resident set from the
/// kernel (`wait4`'s `ru_maxrss`). Not `wait4` in this process: a child started with
/// `posix_spawn` shares the test runner's memory until it execs, and the kernel carries that
/// memory's high-water mark (100 MiB and more while other suites run) into the child's figure.
/// `time` is a small process of its own, so the child it forks starts clean.
func measure(_ arguments: [String], in scratch: Scratch) throws -> Measured {
    let time = "/usr/bin/time"
    guard FileManager.default.isExecutableFile(atPath: time) else {
        Issue.record("\(time) is missing: install Debian's time package (make test-deps does)")
        return Measured(status: -1, peakMiB: Int.max, seconds: 0, output: "")
    }
    let figures = scratch.root + "/measured-\(UUID().uuidString.prefix(8))"
    defer { unlink(figures) }
    let finished = try execute(time, ["-f", "%M %e", "-o", figures, renkeictl] + arguments)
    let measured = ((try? String(contentsOfFile: figures, encoding: .utf8)) ?? "").split(whereSeparator: \.isWhitespace)
    // `time` writes "Command exited with non-zero status 1" before the figures when the child failed.
    let kibibytes = measured.count >= 2 ? Int(measured[measured.count - 2]) : nil
    #expect(kibibytes != nil, "time wrote \(measured)")
    return Measured(status: finished.status, peakMiB: ((kibibytes ?? Int.max / 2) + 1023) / 1024,
                    seconds: Double(measured.last ?? "") ?? 0, output: finished.stdout + finished.stderr)
}
