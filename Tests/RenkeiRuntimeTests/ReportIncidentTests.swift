import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// The failure report groups a chain's failures: a failed upstream and the downstream runs that
/// failed with class `upstream` because of it read as one incident.
@Suite(.serialized) struct ReportIncidentTests {
    static let day = ReportTests.day
    static let base = ReportTests.base

    /// The diamond of GraphTests, in UTC, and kokuho-copy beside it.
    static func writeJobs(_ scratch: Scratch) {
        func job(_ name: String, after: [String]) {
            scratch.writeJob(name, """
                schedule: "*-*-* 06:30"
                timezone: UTC
                \(after.isEmpty ? "" : "after: [\(after.joined(separator: ", "))]\nafter_wait: 2h")
                steps:
                  - name: copy
                    run: ["/bin/true"]

                """)
        }
        job("juki-export", after: [])
        job("juki-to-fukushi", after: ["juki-export"])
        job("juki-to-kaigo", after: ["juki-export"])
        job("renkei-summary", after: ["juki-to-fukushi", "juki-to-kaigo"])
        job("kokuho-copy", after: [])
    }

    static func date(_ day: Int64) -> String { LogicalTime(epochSeconds: base + day * Self.day, zoneIdentifier: "UTC").date }

    /// Day 1: juki-export fails; juki-to-fukushi and juki-to-kaigo give up waiting for it (class
    /// upstream), and renkei-summary gives up waiting for them; kokuho-copy fails on its own.
    /// Day 3: juki-export fails and tanaka's rerun resolves it, but juki-to-kaigo had given up
    /// already and is still open.
    static func fill(_ scratch: Scratch) async throws -> [String: Int64] {
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.problems.isEmpty, "\(catalog.problems)")
        let store = try StateDirectory(scratch.state).openStoreForWriting()
        func job(_ name: String) -> Job { catalog.job(named: name)!.job }
        func at(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
        func logical(_ day: Int64) -> LogicalTime { LogicalTime(epochSeconds: base + day * Self.day + 6 * 3600 + 1800, zoneIdentifier: "UTC") }
        var ids: [String: Int64] = [:]
        let exitFailure = RunOutcome(state: .failed, errorClass: .exit, message: "step copy: exit status 2", failedStep: "copy", exitStatus: 2)
        func run(_ key: String, _ name: String, day: Int64, outcome: RunOutcome, rerunOf: String? = nil) async throws {
            let time = logical(day)
            let start = time.epochSeconds + (rerunOf == nil ? 0 : 3600)
            let queued = try await store.enqueue(NewRun(job: job(name), logicalTime: time, trigger: rerunOf == nil ? .schedule : .rerun,
                                                        requestedByUser: rerunOf.map { _ in "tanaka" }, reason: rerunOf.map { _ in "ticket 12" },
                                                        rerunOf: rerunOf.flatMap { ids[$0] }), owner: .current, at: at(start))
            _ = try await store.start(runID: queued.id!, environment: [:], workDirectory: scratch.state + "/w", at: at(start))
            try await store.finish(runID: queued.id!, outcome: outcome, at: at(start + 60))
            ids[key] = queued.id!
        }
        func gaveUp(_ key: String, _ name: String, day: Int64, because upstream: String) async throws {
            let time = logical(day)
            let row = try await store.recordWaiting(NewRun(job: job(name), logicalTime: time, trigger: .schedule),
                                                    message: "waiting", owner: .current, at: at(time.epochSeconds))
            let failed = ids[upstream]!
            try await store.finish(runID: row.id!, outcome: RunOutcome(
                state: .failed, errorClass: .upstream,
                message: "upstream not done for \(date(day)) after waiting 2h: \(job(upstream.components(separatedBy: "@")[0]).name) failed (run \(failed); renkeictl show \(failed))"),
                at: at(time.epochSeconds + 7200))
            ids[key] = row.id!
        }
        try await run("juki-export", "juki-export", day: 1, outcome: exitFailure)
        try await gaveUp("juki-to-fukushi", "juki-to-fukushi", day: 1, because: "juki-export")
        try await gaveUp("juki-to-kaigo", "juki-to-kaigo", day: 1, because: "juki-export")
        try await gaveUp("renkei-summary", "renkei-summary", day: 1, because: "juki-to-fukushi")
        try await run("kokuho-copy", "kokuho-copy", day: 1, outcome: exitFailure)
        try await run("juki-export@3", "juki-export", day: 3, outcome: exitFailure)
        try await gaveUp("juki-to-kaigo@3", "juki-to-kaigo", day: 3, because: "juki-export@3")
        try await run("rerun@3", "juki-export", day: 3, outcome: .succeeded, rerunOf: "juki-export@3")
        return ids
    }

    static func report(_ scratch: Scratch, _ extra: [String]) throws -> Finished {
        let since = LogicalTime(epochSeconds: base, zoneIdentifier: "UTC").iso8601
        let until = LogicalTime(epochSeconds: base + 10 * day, zoneIdentifier: "UTC").iso8601
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        environment["LANG"] = "C.UTF-8"
        return try execute(renkeictl, ["report", "--jobs", scratch.jobs, "--state", scratch.state, "--since", since, "--until", until] + extra,
                           environment: environment)
    }

    @Test func anUpstreamFailureAndTheFailuresItCausedAreOneIncident() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        let result = try Self.report(scratch, ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let totals = try #require(json["totals"] as? [String: Any])
        let counts = try #require(totals["counts"] as? [String: Int])
        // Every failure still counts as one; the chain of day 1 is one incident, kokuho-copy its own,
        // day 3's juki-export and the juki-to-kaigo it left failed another.
        #expect(counts["failed"] == 7)
        #expect(counts["unresolved"] == 6)
        #expect(counts["resolved_by_rerun"] == 1)
        #expect(totals["incidents"] as? Int == 3)
        let unresolved = try #require(json["unresolved"] as? [[String: Any]])
        #expect(unresolved.map { $0["run"] as? Int64 } == ["juki-export", "juki-to-fukushi", "juki-to-kaigo", "renkei-summary", "kokuho-copy", "juki-to-kaigo@3"].map { ids[$0] },
                "the root first, its downstream failures beneath it in chain order, then the others by time")
        #expect(unresolved.map { $0["incident"] as? Int64 } == ["juki-export", "juki-export", "juki-export", "juki-export", "kokuho-copy", "juki-export@3"].map { ids[$0] })
        let resolved = try #require(json["resolved"] as? [[String: Any]])
        #expect(resolved.map { $0["incident"] as? Int64 } == [ids["juki-export@3"]])
    }

    @Test func textShowsTheDownstreamFailuresUnderTheirRoot() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        let result = try Self.report(scratch, ["--lang", "en"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        for line in text.split(separator: "\n") {
            #expect(ReportFormats.width(String(line)) <= 80, "too wide: \(line)")
        }
        #expect(text.contains("  Incidents (a chain counted once)        3\n"))
        let d1 = Self.date(1) + " 06:30", d3 = Self.date(3) + " 06:30"
        let export = ids["juki-export"]!, fukushi = ids["juki-to-fukushi"]!, kaigo = ids["juki-to-kaigo"]!, summary = ids["renkei-summary"]!
        let kokuho = ids["kokuho-copy"]!, export3 = ids["juki-export@3"]!, kaigo3 = ids["juki-to-kaigo@3"]!
        // Under its root a failure's error is cut to fit 80 columns.
        func because(_ upstream: String, _ run: Int64) -> String {
            String("upstream not done for \(Self.date(1)) after waiting 2h: \(upstream) failed (run \(run); renkeictl show \(run))".prefix(69))
        }
        #expect(text.contains("""
            Unresolved failures — action needed
              Run \(export)  juki-export  \(d1)  [exit]
                step copy: exit status 2
                renkeictl rerun \(export) --reason "…" --wait
                └─ because of it:
                   Run \(fukushi)  juki-to-fukushi  \(d1)  [upstream]
                     \(because("juki-export", export))
                     renkeictl rerun \(fukushi) --reason "…" --wait
                   Run \(kaigo)  juki-to-kaigo  \(d1)  [upstream]
                     \(because("juki-export", export))
                     renkeictl rerun \(kaigo) --reason "…" --wait
                   Run \(summary)  renkei-summary  \(d1)  [upstream]
                     \(because("juki-to-fukushi", fukushi))
                     renkeictl rerun \(summary) --reason "…" --wait
              Run \(kokuho)  kokuho-copy  \(d1)  [exit]
                step copy: exit status 2
                renkeictl rerun \(kokuho) --reason "…" --wait
              Run \(kaigo3)  juki-to-kaigo  \(d3)  [upstream]
                because of run \(export3), juki-export (resolved)
            """), "\(text)")
    }

    @Test func csvCarriesTheIncidentAndHTMLGroupsIt() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        let csv = ReportTests.parseCSV(try Self.report(scratch, ["--format", "csv", "--lang", "en"]).stdout)
        #expect(csv[0].prefix(4) == ["status", "Run", "incident", "Job"])
        let incidentOf = Dictionary(uniqueKeysWithValues: csv.dropFirst().map { ($0[1], $0[2]) })
        for key in ["juki-export", "juki-to-fukushi", "juki-to-kaigo", "renkei-summary"] {
            #expect(incidentOf[String(ids[key]!)] == String(ids["juki-export"]!), "\(key)")
        }
        #expect(incidentOf[String(ids["kokuho-copy"]!)] == String(ids["kokuho-copy"]!), "an unrelated failure stays its own incident")
        #expect(incidentOf[String(ids["juki-to-kaigo@3"]!)] == String(ids["juki-export@3"]!))
        #expect(csv.allSatisfy { $0.count == csv[0].count })

        let html = try Self.report(scratch, ["--format", "html", "--lang", "en"]).stdout
        #expect(html.contains("<tr class=\"because\"><td></td><td colspan=\"5\">└─ because of it:</td></tr>"))
        #expect(html.components(separatedBy: "<tr class=\"downstream\">").count - 1 == 3)
        #expect(html.contains("because of run \(ids["juki-export@3"]!), juki-export (resolved)"))
        #expect(html.contains("<tr><th>Incidents (a chain counted once)</th><td class=\"n\">3</td></tr>"))
    }

    @Test func withoutTheJobFilesEveryFailureIsItsOwnIncident() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        _ = try await Self.fill(scratch)
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        let result = try execute(renkeictl, ["report", "--jobs", scratch.root + "/nowhere", "--state", scratch.state, "--format", "json",
                                             "--since", LogicalTime(epochSeconds: Self.base, zoneIdentifier: "UTC").iso8601,
                                             "--until", LogicalTime(epochSeconds: Self.base + 10 * Self.day, zoneIdentifier: "UTC").iso8601], environment: environment)
        #expect(result.status == 0)
        #expect(result.stderr.contains("failures are not grouped by chain"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((json["totals"] as? [String: Any])?["incidents"] as? Int == 7)
    }
}
