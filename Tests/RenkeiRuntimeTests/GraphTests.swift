import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// `renkeictl graph` on real job files and a real store, run as the operator runs it.
@Suite(.serialized) struct GraphTests {
    /// A diamond: juki-export feeds juki-to-fukushi and juki-to-kaigo, both of which feed
    /// renkei-summary; kokuho-copy waits for nothing and nothing waits for it. All in Tokyo.
    static func writeJobs(_ scratch: Scratch) {
        func job(_ name: String, after: [String]) {
            scratch.writeJob(name, """
                schedule: "*-*-* 06:30"
                timezone: Asia/Tokyo
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

    static func tokyo(_ text: String) -> LogicalTime { try! LogicalTime.parse(text, zoneIdentifier: "Asia/Tokyo") }
    static func at(_ text: String) -> Date { Date(timeIntervalSince1970: TimeInterval(tokyo(text).epochSeconds)) }

    /// 2026-11-30: juki-export failed. 2026-12-01: juki-export failed, then its retry succeeded;
    /// juki-to-fukushi failed; juki-to-kaigo succeeded; renkei-summary waited and gave up with
    /// class upstream. 2026-12-02 (06:30 in Tokyo is still 12-01 in UTC): juki-export runs, the two
    /// after it wait. kokuho-copy never ran.
    static func fill(_ scratch: Scratch) async throws -> [String: Int64] {
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.problems.isEmpty, "\(catalog.problems)")
        let store = try StateDirectory(scratch.state).openStoreForWriting()
        func job(_ name: String) -> Job { catalog.job(named: name)!.job }
        var ids: [String: Int64] = [:]
        func run(_ key: String, _ name: String, _ logical: String, attempt: Int = 1, retryOf: String? = nil, started: String,
                 finished: String?, outcome: RunOutcome = .succeeded) async throws {
            let queued = try await store.enqueue(NewRun(job: job(name), logicalTime: tokyo(logical), trigger: retryOf == nil ? .schedule : .retry,
                                                        attempt: attempt, retryOf: retryOf.flatMap { ids[$0] }), owner: .current, at: at(started))
            _ = try await store.start(runID: queued.id!, environment: [:], workDirectory: scratch.state + "/w", at: at(started))
            if let finished { try await store.finish(runID: queued.id!, outcome: outcome, at: at(finished)) }
            ids[key] = queued.id!
        }
        func wait(_ key: String, _ name: String, _ logical: String, for upstreams: String) async throws {
            let row = try await store.recordWaiting(NewRun(job: job(name), logicalTime: tokyo(logical), trigger: .schedule),
                                                    message: "waiting for \(upstreams) to succeed", owner: .current, at: at(logical))
            ids[key] = row.id!
        }
        let exitFailure = RunOutcome(state: .failed, errorClass: .exit, message: "step copy: exit status 2\nsecond line", failedStep: "copy", exitStatus: 2)
        try await run("export-11-30", "juki-export", "2026-11-30 06:30", started: "2026-11-30 06:30", finished: "2026-11-30 06:31", outcome: exitFailure)
        try await run("export", "juki-export", "2026-12-01 06:30", started: "2026-12-01 06:30", finished: "2026-12-01 06:31", outcome: exitFailure)
        try await run("export-retry", "juki-export", "2026-12-01 06:30", attempt: 2, retryOf: "export", started: "2026-12-01 06:32", finished: "2026-12-01 06:34")
        try await run("fukushi", "juki-to-fukushi", "2026-12-01 06:30", started: "2026-12-01 06:34", finished: "2026-12-01 06:35", outcome: exitFailure)
        try await run("kaigo", "juki-to-kaigo", "2026-12-01 06:30", started: "2026-12-01 06:34", finished: "2026-12-01 06:41")
        try await wait("summary", "renkei-summary", "2026-12-01 06:30", for: "juki-to-fukushi, juki-to-kaigo")
        let fukushi = ids["fukushi"]!
        try await store.finish(runID: ids["summary"]!, outcome: RunOutcome(
            state: .failed, errorClass: .upstream,
            message: "upstream not done for 2026-12-01 after waiting 2h: juki-to-fukushi failed (run \(fukushi); renkeictl show \(fukushi))"),
            at: at("2026-12-01 08:30"))
        try await run("export-12-02", "juki-export", "2026-12-02 06:30", started: "2026-12-02 06:30", finished: nil)
        try await wait("fukushi-12-02", "juki-to-fukushi", "2026-12-02 06:30", for: "juki-export")
        try await wait("kaigo-12-02", "juki-to-kaigo", "2026-12-02 06:30", for: "juki-export")
        return ids
    }

    static func graph(_ scratch: Scratch, _ arguments: [String], zone: String = "Asia/Tokyo") throws -> Finished {
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = zone
        environment["LANG"] = "C.UTF-8"
        return try execute(renkeictl, ["graph", "--jobs", scratch.jobs, "--state", scratch.state] + arguments, environment: environment)
    }

    @Test func textIsTheDiamondAsATreeWithEachJobsStateForTheDate() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        let result = try Self.graph(scratch, ["--date", "2026-12-01"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == """
            2026-12-01 (Asia/Tokyo)
            juki-export           succeeded  run \(ids["export-retry"]!)  06:34
            ├─ juki-to-fukushi    failed     run \(ids["fukushi"]!)  (exit: step copy: exit status 2)
            │  └─ renkei-summary  failed     run \(ids["summary"]!)  (upstream: juki-to-fukushi failed (run …
            └─ juki-to-kaigo      succeeded  run \(ids["kaigo"]!)  06:41
               └─ renkei-summary  (see above)
            1 job not in a chain (--all lists it)

            """)
        for line in result.stdout.split(separator: "\n") {
            #expect(ReportFormats.width(String(line)) <= 80, "too wide: \(line)")
        }
        let all = try Self.graph(scratch, ["--date", "2026-12-01", "--all"])
        #expect(all.stdout.hasSuffix("not in a chain\n  kokuho-copy         not run\n"), "\(all.stdout)")
    }

    @Test func eachDateIsReadInTheJobsOwnZone() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        // The machine is in UTC, where 2026-12-02 06:30 in Tokyo is still 2026-12-01.
        let second = try Self.graph(scratch, ["--date", "2026-12-02"], zone: "UTC")
        #expect(second.status == 0, "\(second.stderr)")
        let lines = second.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "2026-12-02 (UTC)")
        #expect(lines[1] == "juki-export           running    run \(ids["export-12-02"]!)  since 06:30 (Asia/Tokyo)")
        #expect(lines[2] == "├─ juki-to-fukushi    waiting    run \(ids["fukushi-12-02"]!)  for juki-export until 08:30 (Asia/Tokyo)")
        #expect(lines[3] == "│  └─ renkei-summary  not run")
        #expect(lines[4] == "└─ juki-to-kaigo      waiting    run \(ids["kaigo-12-02"]!)  for juki-export until 08:30 (Asia/Tokyo)")
        let first = try Self.graph(scratch, ["--date", "2026-11-30", "--json"], zone: "UTC")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        let states = Dictionary(uniqueKeysWithValues: nodes.map { ($0["job"] as! String, $0["state"] as! String) })
        #expect(states == ["juki-export": "failed", "juki-to-fukushi": "not_run", "juki-to-kaigo": "not_run", "renkei-summary": "not_run", "kokuho-copy": "not_run"])
        #expect(nodes[0]["run"] as? Int64 == ids["export-11-30"])
        #expect(nodes[0]["error_class"] as? String == "exit")
    }

    @Test func dotIsGraphvizWithFailedNodesInRed() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        let result = try Self.graph(scratch, ["--date", "2026-12-01", "--format", "dot"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == """
            digraph renkei {
              label="2026-12-01 (Asia/Tokyo)"; labelloc=t;
              node [shape=box, style=rounded, fontname="sans-serif"];
              "juki-export" [label="juki-export\\nsucceeded, run \(ids["export-retry"]!)", color=darkgreen];
              "juki-to-fukushi" [label="juki-to-fukushi\\nfailed (exit), run \(ids["fukushi"]!)", color=red, fontcolor=red];
              "juki-to-kaigo" [label="juki-to-kaigo\\nsucceeded, run \(ids["kaigo"]!)", color=darkgreen];
              "renkei-summary" [label="renkei-summary\\nfailed (upstream), run \(ids["summary"]!)", color=red, fontcolor=red];
              "juki-export" -> "juki-to-fukushi";
              "juki-export" -> "juki-to-kaigo";
              "juki-to-fukushi" -> "renkei-summary";
              "juki-to-kaigo" -> "renkei-summary";
            }

            """)
        if let dot = ["/usr/bin/dot", "/usr/local/bin/dot"].first(where: FileManager.default.isExecutableFile(atPath:)) {
            let parsed = try execute("/bin/sh", ["-c", "'\(renkeictl)' graph --jobs '\(scratch.jobs)' --state '\(scratch.state)' --date 2026-12-01 --format dot | \(dot) -Tsvg"])
            #expect(parsed.status == 0 && parsed.stdout.contains("<svg"), "\(parsed.stderr)")
        }
    }

    @Test func jsonHasNodesInDependencyOrderAndOneEdgePerLink() async throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let ids = try await Self.fill(scratch)
        let result = try Self.graph(scratch, ["--date", "2026-12-01", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["date", "timezone", "nodes", "edges"])
        #expect(json["date"] as? String == "2026-12-01")
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["job"] as? String } == ["juki-export", "juki-to-fukushi", "juki-to-kaigo", "renkei-summary", "kokuho-copy"])
        #expect(nodes.allSatisfy { Set($0.keys) == ["job", "timezone", "after", "chained", "state", "run", "logical_time", "error_class", "error", "started_at", "finished_at"] },
                "the same keys on every node, null when empty")
        #expect(nodes.map { $0["state"] as? String } == ["succeeded", "failed", "succeeded", "failed", "not_run"])
        #expect(nodes.map { $0["run"] as? Int64 } == [ids["export-retry"], ids["fukushi"], ids["kaigo"], ids["summary"], nil])
        #expect(nodes[3]["error_class"] as? String == "upstream")
        #expect(nodes[3]["after"] as? [String] == ["juki-to-fukushi", "juki-to-kaigo"])
        #expect(nodes[3]["logical_time"] as? String == "2026-12-01T06:30:00+09:00")
        #expect(nodes[4]["chained"] as? Bool == false)
        #expect(nodes[4]["run"] is NSNull)
        let edges = try #require(json["edges"] as? [[String: String]])
        #expect(edges.map { "\($0["from"]!) -> \($0["to"]!)" } == [
            "juki-export -> juki-to-fukushi", "juki-export -> juki-to-kaigo", "juki-to-fukushi -> renkei-summary", "juki-to-kaigo -> renkei-summary",
        ])
    }

    @Test func withNoStoreYetEveryJobIsNotRun() throws {
        let scratch = try Scratch()
        Self.writeJobs(scratch)
        let result = try Self.graph(scratch, ["--date", "2026-12-01"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == """
            2026-12-01 (Asia/Tokyo)
            juki-export           not run
            ├─ juki-to-fukushi    not run
            │  └─ renkei-summary  not run
            └─ juki-to-kaigo      not run
               └─ renkei-summary  (see above)
            1 job not in a chain (--all lists it)

            """)
        #expect(!FileManager.default.fileExists(atPath: scratch.state + "/renkei.db"), "reading creates no store")
        let json = try Self.graph(scratch, ["--json"])
        #expect(json.status == 0)
        let bad = try Self.graph(scratch, ["--date", "2026-13-01"])
        #expect(bad.status == 2, "an impossible date is a usage error: \(bad.stderr)")
    }
}
