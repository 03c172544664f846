import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// The reconciliation table (連携結果照合表) of the failure report, from a store whose runs
/// recorded their files as built-in steps record them (`stepFinished` with `StepEnd.files`).
@Suite(.serialized) struct ReconciliationReportTests {
    static let day = ReportTests.day
    static let base = ReportTests.base

    static func date(_ day: Int64) -> String { LogicalTime(epochSeconds: base + day * Self.day, zoneIdentifier: "UTC").date }

    /// juki (receive, deliver, notify): day 1 received 100 bytes and delivered 120 (and refused
    /// another delivery); day 2 failed before delivering; day 3 delivered, failed at notify, and a
    /// rerun from the top received the same file again (into its own work directory) and found it
    /// already delivered; day 4 counted 100 records in and 98 out; day 5 delivered and then failed;
    /// day 40 is outside the period. kokuho only receives: two files on day 1, one of them counted,
    /// and a duplicate it refused.
    static func fill(_ scratch: Scratch) async throws -> [String: Int64] {
        let store = try StateDirectory(scratch.state).openStoreForWriting()
        func job(_ name: String) -> Job {
            Job(name: JobName(name)!, steps: ["receive", "deliver", "notify"].map { Step(name: $0, command: .argv(["/bin/true"])) }, definitionHash: "h")
        }
        func at(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
        var ids: [String: Int64] = [:]
        func run(_ key: String, _ name: String, day: Int64, trigger: Trigger = .schedule, outcome: RunOutcome = .succeeded, of: Int64? = nil,
                 files: [Int: [LinkFile]]) async throws {
            let logical = LogicalTime(epochSeconds: base + day * Self.day + 6 * 3600 + 1800, zoneIdentifier: "UTC")
            let start = logical.epochSeconds + (trigger == .schedule ? 0 : 3600)
            let queued = try await store.enqueue(NewRun(job: job(name), logicalTime: logical, trigger: trigger, requestedByUser: of == nil ? nil : "tanaka",
                                                  reason: of == nil ? nil : "ticket 9", rerunOf: of), owner: .current, at: at(start))
            let id = queued.id!
            _ = try await store.start(runID: id, environment: [:], workDirectory: "/w/\(key)", at: at(start))
            for (position, recorded) in files.sorted(by: { $0.key < $1.key }) {
                try await store.stepFinished(runID: id, position: position, end: StepEnd(termination: .exited(0), finishedAt: at(start + 10), stdoutTail: OutputTail(),
                                                                                   stderrTail: OutputTail(), files: recorded))
            }
            try await store.finish(runID: id, outcome: outcome, at: at(start + 60))
            ids[key] = id
        }
        func received(_ name: String, into key: String, bytes: Int64, sha: String, records: Int64? = nil, outcome: LinkFile.Outcome = .received) -> LinkFile {
            LinkFile(direction: .received, path: "/w/\(key)/\(name)", source: "/srv/outbox/\(name)", bytes: bytes, sha256: sha, records: records, outcome: outcome)
        }
        func delivered(_ name: String, from key: String, bytes: Int64, sha: String, records: Int64? = nil, outcome: LinkFile.Outcome = .delivered) -> LinkFile {
            LinkFile(direction: .delivered, path: "/srv/inbox/\(name)", source: "/w/\(key)/\(name)", bytes: bytes, sha256: sha, records: records, outcome: outcome)
        }
        let notifyFailed = RunOutcome(state: .failed, errorClass: .exit, message: "step notify: exit status 1", failedStep: "notify", exitStatus: 1)
        let deliverFailed = RunOutcome(state: .failed, errorClass: .exit, message: "step deliver: exit status 2", failedStep: "deliver", exitStatus: 2)

        try await run("A", "juki", day: 1, files: [0: [received("IDO_1.csv", into: "A", bytes: 100, sha: "a1")],
                                             1: [delivered("FUKUSHI_1.csv", from: "A", bytes: 120, sha: "b1"),
                                                 delivered("FUKUSHI_1.csv", from: "A", bytes: 999, sha: "bx", outcome: .refused)]])
        try await run("K", "kokuho", day: 1, files: [0: [received("KOKUHO_a.csv", into: "K", bytes: 10, sha: "k1", records: 3),
                                                   received("KOKUHO_b.csv", into: "K", bytes: 20, sha: "k2"),
                                                   received("KOKUHO_old.csv", into: "K", bytes: 999, sha: "kx", outcome: .duplicate)]])
        try await run("B", "juki", day: 2, outcome: deliverFailed, files: [0: [received("IDO_2.csv", into: "B", bytes: 200, sha: "a2")]])
        try await run("C", "juki", day: 3, outcome: notifyFailed, files: [0: [received("IDO_3.csv", into: "C", bytes: 300, sha: "a3", records: 10)],
                                                                    1: [delivered("FUKUSHI_3.csv", from: "C", bytes: 320, sha: "b3", records: 10)]])
        try await run("D", "juki", day: 3, trigger: .rerun, of: ids["C"], files: [
            0: [received("IDO_3.csv", into: "D", bytes: 300, sha: "a3", records: 10)],
            1: [delivered("FUKUSHI_3.csv", from: "D", bytes: 320, sha: "b3", records: 10, outcome: .alreadyDelivered)]])
        try await run("E", "juki", day: 4, files: [0: [received("IDO_4.csv", into: "E", bytes: 400, sha: "a4", records: 100)],
                                             1: [delivered("FUKUSHI_4.csv", from: "E", bytes: 380, sha: "b4", records: 98)]])
        try await run("F", "juki", day: 5, outcome: notifyFailed, files: [0: [received("IDO_5.csv", into: "F", bytes: 500, sha: "a5")],
                                                                    1: [delivered("FUKUSHI_5.csv", from: "F", bytes: 520, sha: "b5")]])
        try await run("G", "juki", day: 40, files: [0: [received("IDO_40.csv", into: "G", bytes: 4000, sha: "a40")],
                                              1: [delivered("FUKUSHI_40.csv", from: "G", bytes: 4200, sha: "b40")]])
        return ids
    }

    /// job, date, files/bytes/records received, files/bytes/records delivered, status.
    typealias Expected = (String, String, Int, Int64, Int64?, Int, Int64, Int64?, String)
    static let expected: [Expected] = [
        ("juki", date(1), 1, 100, nil, 1, 120, nil, "reconciled"),
        ("kokuho", date(1), 2, 30, nil, 0, 0, nil, "received_only"),
        ("juki", date(2), 1, 200, nil, 0, 0, nil, "not_delivered"),
        ("juki", date(3), 1, 300, 10, 1, 320, 10, "reconciled"),
        ("juki", date(4), 1, 400, 100, 1, 380, 98, "records_differ"),
        ("juki", date(5), 1, 500, nil, 1, 520, nil, "unfinished"),
    ]

    @Test func jsonHasOneRowPerJobAndDateWithTheKnownNumbers() async throws {
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        let result = try ReportTests.report(scratch, ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["schema_version"] as? Int == 1)
        let rows = try #require(json["reconciliation"] as? [[String: Any]])
        #expect(rows.count == Self.expected.count)
        for (row, expected) in zip(rows, Self.expected) {
            // Every documented key, always there; unknown records are null, not missing.
            #expect(Set(row.keys) == ["job", "logical_date", "files_received", "bytes_received", "records_received", "files_delivered", "bytes_delivered",
                                      "records_delivered", "status", "reason"])
            #expect(row["job"] as? String == expected.0)
            #expect(row["logical_date"] as? String == expected.1)
            #expect(row["files_received"] as? Int == expected.2, "\(expected.0) \(expected.1)")
            #expect(row["bytes_received"] as? Int64 == expected.3, "\(expected.0) \(expected.1)")
            #expect(row["records_received"] as? Int64 == expected.4 || (expected.4 == nil && row["records_received"] is NSNull))
            #expect(row["files_delivered"] as? Int == expected.5, "\(expected.0) \(expected.1)")
            #expect(row["bytes_delivered"] as? Int64 == expected.6, "\(expected.0) \(expected.1)")
            #expect(row["records_delivered"] as? Int64 == expected.7 || (expected.7 == nil && row["records_delivered"] is NSNull))
            #expect(row["status"] as? String == expected.8, "\(expected.0) \(expected.1)")
            #expect(!(row["reason"] as? String ?? "").isEmpty)
        }
        #expect(rows[4]["reason"] as? String == "100 records received, 98 delivered")
        // (Only the rows: the report's own timestamps may hold "999".)
        let rowsText = String(decoding: try JSONSerialization.data(withJSONObject: rows), as: UTF8.self)
        #expect(!rowsText.contains("999"), "refused and duplicate files are not counted")
        #expect(!result.stdout.contains(Self.date(40)), "a file of a run outside the period is not counted")

        let kokuho = try ReportTests.report(scratch, ["--format", "json", "--job", "kokuho"])
        let only = try #require(try JSONSerialization.jsonObject(with: Data(kokuho.stdout.utf8)) as? [String: Any])
        #expect((only["reconciliation"] as? [[String: Any]])?.map { $0["job"] as? String } == ["kokuho"])
    }

    @Test func csvHasTheTableAfterTheFailuresAndParsesBack() async throws {
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        let english = try ReportTests.report(scratch, ["--format", "csv", "--lang", "en"])
        #expect(english.status == 0, "\(english.stderr)")
        #expect(english.stdout.contains("\r\n") && !english.stdout.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        let rows = ReportTests.parseCSV(english.stdout)
        #expect(rows.allSatisfy { $0.count == rows[0].count }, "one grid: every row has the same number of fields")
        // B, C and F failed: three failures, then an empty row, the table's header and its six rows.
        let expectedRows: Int = 1 + 3 + 1 + 1 + 6
        #expect(rows.count == expectedRows)
        let header = try #require(rows.firstIndex { $0.first == "Job" })
        #expect(rows[header - 1].allSatisfy { $0.isEmpty })
        #expect(Array(rows[header].prefix(10)) == ["Job", "Data date", "Files received", "Bytes received", "Records received", "Files delivered",
                                                   "Bytes delivered", "Records delivered", "Result", "Reason"])
        let table = rows[(header + 1)...].map { Array($0.prefix(10)) }
        #expect(table.map(\.[0]) == Self.expected.map(\.0))
        #expect(table.map(\.[1]) == Self.expected.map(\.1))
        #expect(table.map { Int($0[2]) } == Self.expected.map(\.2))
        #expect(table.map { Int64($0[3]) } == Self.expected.map(\.3))
        #expect(table.map { $0[4] } == Self.expected.map { $0.4.map(String.init) ?? "" }, "uncounted records are empty fields")
        #expect(table.map { Int($0[5]) } == Self.expected.map(\.5))
        #expect(table.map { Int64($0[6]) } == Self.expected.map(\.6))
        #expect(table.map { $0[7] } == Self.expected.map { $0.7.map(String.init) ?? "" })
        #expect(table.map(\.[8]) == ["reconciled", "received only", "not delivered", "reconciled", "records differ", "not finished"])

        let japanese = try ReportTests.report(scratch, ["--format", "csv", "--lang", "ja"])
        let jaRows = ReportTests.parseCSV(String(japanese.stdout.drop { $0 == "\u{FEFF}" }))
        let jaHeader = try #require(jaRows.firstIndex { $0.first == "連携ジョブ" })
        #expect(Array(jaRows[jaHeader].prefix(10)) == ["連携ジョブ", "基準日", "受信ファイル数", "受信バイト数", "受信レコード数", "送達ファイル数", "送達バイト数", "送達レコード数",
                                                      "照合結果", "判定理由"])
        #expect(jaRows[(jaHeader + 1)...].map(\.[8]) == ["一致", "受信のみ", "未送達", "一致", "レコード数不一致", "未完了"])
        #expect(jaRows[jaHeader + 5][9] == "受信100レコード、送達98レコード")
    }

    @Test func textFitsEightyColumnsInBothLanguages() async throws {
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        for lang in ["en", "ja"] {
            let result = try ReportTests.report(scratch, ["--lang", lang])
            #expect(result.status == 0, "\(result.stderr)")
            for line in result.stdout.split(separator: "\n") {
                #expect(ReportFormats.width(String(line)) <= 80, "too wide: \(line)")
            }
        }
        let english = try ReportTests.report(scratch, ["--lang", "en"]).stdout
        let section = try #require(english.range(of: "Link reconciliation\n")).upperBound
        let lines = english[section...].split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("  Job"))
        #expect(lines[1] == "  juki                \(Self.date(1))  received           1          100           —")
        #expect(lines[2] == "    reconciled                    delivered          1          120           —")
        // kokuho's receive-only day, then juki's day 2 with the reason someone has to act on.
        #expect(lines[4].hasPrefix("    received only"))
        #expect(lines[6].hasPrefix("    not delivered"))
        #expect(lines[7] == "      received but nothing delivered; a run for this date has not succeeded")
        #expect(english.contains("    records differ                delivered          1          380          98"))
        #expect(english.contains("      100 records received, 98 delivered"))

        let japanese = try ReportTests.report(scratch, ["--lang", "ja"]).stdout
        #expect(japanese.contains("連携結果照合表\n"))
        #expect(japanese.contains("    未送達                        送達               0            0           —"))
        #expect(japanese.contains("      受信後に送達されていません。この日付の実行が正常終了していません"))
        #expect(japanese.contains("    レコード数不一致"))
    }

    @Test func htmlHasTheTable() async throws {
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        let path = scratch.root + "/report.html"
        let result = try ReportTests.report(scratch, ["--format", "html", "--lang", "ja", "-o", path])
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        for forbidden in ["<script", "<link", "@import", "url(", "src=", "href="] {
            #expect(!html.contains(forbidden), "the HTML must need nothing from elsewhere: found \(forbidden)")
        }
        #expect(html.contains("<h2>連携結果照合表</h2>"))
        #expect(html.contains("<th>受信ファイル数</th><th>受信バイト数</th><th>受信レコード数</th><th>送達ファイル数</th><th>送達バイト数</th><th>送達レコード数</th><th>照合結果</th>"))
        #expect(html.contains("<tr><td>juki</td><td class=\"date\">\(Self.date(4))</td><td class=\"n\">1</td><td class=\"n\">400</td><td class=\"n\">100</td><td class=\"n\">1</td><td class=\"n\">380</td><td class=\"n\">98</td><td class=\"bad\">レコード数不一致"))
        #expect(html.contains("<td class=\"n\">—</td>"))
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "make test installs Debian's chromium")
        let dom = try execute(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                                        "--user-data-dir=\(scratch.root)/chromium", "--dump-dom", "file://" + path])
        #expect(dom.status == 0, "\(dom.stderr)")
        #expect(dom.stdout.contains("<table class=\"reconciliation\">"))
        #expect(dom.stdout.contains("未送達"))
    }
}
