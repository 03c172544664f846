import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// A store with a known history, and the report in every format checked against it.
@Suite(.serialized) struct ReportTests {
    static let day: Int64 = 86_400
    static let base: Int64 = 1_795_000_000 - 1_795_000_000 % 86_400  // a midnight UTC in 2026-11

    /// juki: a success; a failure recovered by retry; a failure resolved by tanaka's rerun; an
    /// unresolved failure; a missed slot; a deadline breach. kokuho: a success and a skipped slot.
    static func fill(_ scratch: Scratch) async throws -> (store: RunStore, ids: [String: Int64]) {
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        func job(_ name: String) -> Job { Job(name: JobName(name)!, steps: [Step(name: "export", command: .argv(["/bin/true"])), Step(name: "deliver", command: .argv(["/bin/true"]))], definitionHash: "h") }
        func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
        var ids: [String: Int64] = [:]
        func run(_ key: String, _ name: String, day: Int64, trigger: Trigger, attempt: Int = 1, outcome: RunOutcome, finishAfter: Int64 = 60,
                 user: String? = nil, reason: String? = nil, of: Int64? = nil) async throws {
            let logical = LogicalTime(epochSeconds: base + day * Self.day + 6 * 3600 + 1800, zoneIdentifier: "UTC")
            let start = logical.epochSeconds + (trigger == .schedule ? 0 : 3600 * Int64(attempt))
            let queued = try await store.enqueue(NewRun(job: job(name), logicalTime: logical, trigger: trigger, attempt: attempt, requestedByUser: user,
                                                  reason: reason, rerunOf: trigger == .rerun ? of : nil, retryOf: trigger == .retry ? of : nil),
                                           owner: .current, at: date(start))
            _ = try await store.start(runID: queued.id!, environment: [:], workDirectory: "/w", at: date(start))
            try await store.finish(runID: queued.id!, outcome: outcome, at: date(start + finishAfter))
            ids[key] = queued.id!
        }
        let ok = RunOutcome.succeeded
        let failed = RunOutcome(state: .failed, errorClass: .exit, message: "step deliver: exit status 2\nsecond line", failedStep: "deliver", exitStatus: 2)
        try await run("A", "juki", day: 1, trigger: .schedule, outcome: ok)
        try await run("B", "juki", day: 2, trigger: .schedule, outcome: failed)
        try await run("C", "juki", day: 2, trigger: .retry, attempt: 2, outcome: ok, of: ids["B"])
        try await run("D", "juki", day: 3, trigger: .schedule, outcome: RunOutcome(state: .timedOut, errorClass: .timeout, message: "step export: timed out after 5m", failedStep: "export"))
        try await run("E", "juki", day: 3, trigger: .rerun, outcome: ok, finishAfter: 7200, user: "tanaka", reason: "ticket 7", of: ids["D"])
        try await run("F", "juki", day: 4, trigger: .schedule, outcome: failed)
        try await store.recordSlot(job: job("juki"), logicalTime: LogicalTime(epochSeconds: base + 5 * Self.day, zoneIdentifier: "UTC"), state: .missed, reason: "down", at: Date())
        try await store.recordDeadlineBreach(job: "juki", logicalTime: base + Self.day + 6 * 3600 + 1800, kind: "finish_by", deadline: Date(), at: Date())
        try await run("K", "kokuho", day: 1, trigger: .schedule, outcome: ok)
        try await store.recordSlot(job: job("kokuho"), logicalTime: LogicalTime(epochSeconds: base + 2 * Self.day, zoneIdentifier: "UTC"), state: .skipped, reason: "closed day", at: Date())
        // Outside the period: not counted.
        let outside = LogicalTime(epochSeconds: base + 40 * Self.day, zoneIdentifier: "UTC")
        _ = try await store.recordSlot(job: job("juki"), logicalTime: outside, state: .missed, reason: "later", at: Date())
        return (store, ids)
    }

    static func report(_ scratch: Scratch, _ extra: [String]) throws -> Finished {
        let since = LogicalTime(epochSeconds: base, zoneIdentifier: "UTC").iso8601
        let until = LogicalTime(epochSeconds: base + 10 * day, zoneIdentifier: "UTC").iso8601
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        environment["LANG"] = "C.UTF-8"
        return try execute(renkeictl, ["report", "--state", scratch.state, "--since", since, "--until", until] + extra, environment: environment)
    }

    @Test func jsonHasTheKnownNumbersAndItsDocumentedSchema() async throws {
        let scratch = try Scratch()
        let (_, ids) = try await Self.fill(scratch)
        let result = try Self.report(scratch, ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // The schema docs/report.md documents: every top-level field, and nothing else.
        #expect(Set(json.keys) == ["schema_version", "generated_at", "since", "until", "timezone", "totals", "jobs", "unresolved", "resolved", "days", "reconciliation"])
        #expect((json["reconciliation"] as? [Any])?.isEmpty == true, "no link step handled a file: an empty table")
        #expect(json["schema_version"] as? Int == 1)
        let totals = try #require(json["totals"] as? [String: Any])
        let counts = try #require(totals["counts"] as? [String: Int])
        #expect(counts == ["runs": 7, "succeeded": 4, "failed": 3, "recovered_by_retry": 1, "resolved_by_rerun": 1, "unresolved": 1,
                           "missed": 1, "skipped": 1, "deadline_breaches": 1, "interrupted": 0])
        #expect(abs((totals["success_rate"] as? Double ?? 0) - 4.0 / 7.0) < 1e-9)
        // B→C: 7,200 s (the retry ran two hours later); D→E: 10,740 s (tanaka's rerun took two hours).
        #expect(totals["resolution_median_seconds"] as? Int == (7_200 + 10_740) / 2)
        #expect(totals["resolution_longest_seconds"] as? Int == 10_740)
        let unresolved = try #require(json["unresolved"] as? [[String: Any]])
        #expect(unresolved.count == 1)
        #expect(unresolved[0]["run"] as? Int64 == ids["F"])
        #expect(unresolved[0]["error"] as? String == "step deliver: exit status 2")
        #expect(unresolved[0]["error_class"] as? String == "exit")
        #expect(unresolved[0]["rerun_command"] as? String == "renkeictl rerun \(ids["F"]!) --reason \"…\" --wait")
        let resolved = try #require(json["resolved"] as? [[String: Any]])
        #expect(resolved.count == 2)
        let byRetry = try #require(resolved.first { $0["run"] as? Int64 == ids["B"] })
        #expect(byRetry["resolved_by"] as? Int64 == ids["C"])
        #expect(byRetry["resolution"] as? String == "retry")
        #expect(byRetry["requested_by"] as? String == "renkeid (automatic retry)")
        let byRerun = try #require(resolved.first { $0["run"] as? Int64 == ids["D"] })
        #expect(byRerun["resolved_by"] as? Int64 == ids["E"])
        #expect(byRerun["resolution"] as? String == "rerun")
        #expect(byRerun["requested_by"] as? String == "tanaka")
        #expect(byRerun["reason"] as? String == "ticket 7")
        // D finished at 06:30+60 s; E started an hour later and took two hours.
        #expect(byRerun["open_seconds"] as? Int == 3600 + 7200 - 60)
        let jobs = try #require(json["jobs"] as? [[String: Any]])
        #expect(jobs.map { $0["job"] as? String } == ["juki", "kokuho"])
        #expect((jobs[1]["counts"] as? [String: Int])?["skipped"] == 1)
        let days = try #require(json["days"] as? [[String: Any]])
        #expect(days.reduce(0) { $0 + ($1["failures"] as? Int ?? 0) } == 3)
    }

    @Test func csvIsOneRowPerFailureAndParsesBack() async throws {
        let scratch = try Scratch()
        let (_, ids) = try await Self.fill(scratch)
        let english = try Self.report(scratch, ["--format", "csv", "--lang", "en"])
        let rows = Self.parseCSV(english.stdout)
        #expect(rows.count == 4, "a header and one row per failed logical time")
        #expect(rows[0].first == "status")
        #expect(rows[1][1] == String(ids["F"]!))
        #expect(rows[1].last == "renkeictl rerun \(ids["F"]!) --reason \"…\" --wait")
        #expect(rows.allSatisfy { $0.count == rows[0].count })
        #expect(english.stdout.contains("\r\n"))
        let japanese = try Self.report(scratch, ["--format", "csv", "--lang", "ja", "-o", scratch.root + "/failures.csv"])
        #expect(japanese.status == 0)
        let bytes = try #require(FileManager.default.contents(atPath: scratch.root + "/failures.csv"))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "a BOM so Excel reads UTF-8")
        let header = Self.parseCSV(String(decoding: bytes.dropFirst(3), as: UTF8.self))[0]
        #expect(header.prefix(5) == ["状態", "実行番号", "インシデント", "連携ジョブ", "基準日時"])
    }

    @Test func textFitsEightyColumnsWithoutColourWhenPiped() async throws {
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        for lang in ["en", "ja"] {
            let result = try Self.report(scratch, ["--lang", lang])
            #expect(result.status == 0)
            #expect(!result.stdout.contains("\u{1B}["), "no colour codes in a pipe")
            for line in result.stdout.split(separator: "\n") {
                #expect(ReportFormats.width(String(line)) <= 80, "too wide: \(line)")
            }
        }
        let japanese = try Self.report(scratch, ["--lang", "ja"]).stdout
        #expect(japanese.contains("手動再実行で解決"))
        #expect(japanese.contains("1件の障害が未対応です。"))
        #expect(japanese.contains("未解決の障害（要対応）"))
        // No link step handled a file: the reconciliation section is one line, not an empty table.
        #expect(japanese.hasSuffix("連携結果照合表\n  対象期間中に受信・送達したファイルはありません。\n"))
    }

    @Test func htmlIsSelfContainedAndRendersInARealBrowser() async throws {
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        let path = scratch.root + "/report.html"
        let result = try Self.report(scratch, ["--format", "html", "--lang", "ja", "-o", path])
        #expect(result.status == 0)
        let html = try String(contentsOfFile: path, encoding: .utf8)
        for forbidden in ["<script", "<link", "@import", "url(", "src=", "href="] {
            #expect(!html.contains(forbidden), "the HTML must need nothing from elsewhere: found \(forbidden)")
        }
        #expect(html.contains("<svg"))
        #expect(html.contains("@page { size: A4"))
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "make test installs Debian's chromium")
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--user-data-dir=\(scratch.root)/chromium"]
        let dom = try execute(browser, common + ["--dump-dom", "file://" + path])
        #expect(dom.status == 0, "\(dom.stderr)")
        #expect(dom.stdout.contains("連携処理 障害状況報告"))
        #expect(dom.stdout.contains("<td class=\"n\">7</td>"), "the run total is in the rendered page")
        #expect(dom.stdout.contains("renkeictl rerun"))
        let png = scratch.root + "/report.png"
        let shot = try execute(browser, common + ["--screenshot=\(png)", "--window-size=794,1123", "file://" + path])
        #expect(shot.status == 0, "\(shot.stderr)")
        let image = try #require(FileManager.default.contents(atPath: png))
        #expect(Array(image.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(image.count > 10_000)
    }

    /// RFC 4180 reader: quoted fields, doubled quotes, CRLF.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var characters = Array(text.unicodeScalars)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.unicodeScalars.append("\""); characters.removeFirst() } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" { quoted = true
            } else if c == "," { row.append(field); field = ""
            } else if c == "\r" { continue
            } else if c == "\n" { row.append(field); rows.append(row); row = []; field = ""
            } else { field.unicodeScalars.append(c) }
        }
        return rows
    }
}
