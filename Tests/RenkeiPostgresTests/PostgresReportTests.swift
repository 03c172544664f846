import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// `renkeictl report --store postgresql:…` as an operator runs it: a SQLite history made by the
/// built renkeictl (failed, rerun, succeeded runs) plus rows of the sqlite3 shell (a missed run,
/// an interrupted one finishing at .999 s, a downstream failure of class upstream, a deadline
/// breach, received and delivered files), copied with the built `renkeictl store copy` into a
/// scratch PostgreSQL; then the same report asked of both stores must read the same.
@Suite(.serialized) struct PostgresReportTests {
    /// A state directory with a history of three jobs; removed at the end.
    final class History {
        let root: String
        var state: String { root + "/state" }
        var jobs: String { root + "/jobs" }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-report-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
            let jobFiles = [
                "link": """
                    timezone: Asia/Tokyo
                    steps:
                      - name: deliver
                        run: ["/bin/sh", "-c", "test -e \(root)/ok || { echo target refused >&2; exit 2; }"]
                    """,
                "tally": """
                    timezone: Asia/Tokyo
                    steps:
                      - name: count
                        run: ["/bin/sh", "-c", "echo 'no input file' >&2; exit 1"]
                    """,
                "count": """
                    timezone: Asia/Tokyo
                    after: [link]
                    steps:
                      - name: count
                        run: ["/bin/true"]
                    """,
            ]
            for (name, text) in jobFiles {
                _ = FileManager.default.createFile(atPath: "\(jobs)/\(name).yaml", contents: Data(text.utf8))
            }
            try renkei(["run", "link", "--local", "--logical-time", "2026-11-26 06:30", "--reason", "first try"], expect: 1)   // run 1 failed
            _ = FileManager.default.createFile(atPath: root + "/ok", contents: Data())
            try renkei(["rerun", "1", "--local", "--reason", "target back up"], expect: 0)                                  // run 2 resolves 1
            try renkei(["run", "tally", "--local", "--logical-time", "2026-11-27 00:00", "--reason", "month end"], expect: 1) // run 3, open
            try renkei(["run", "link", "--local", "--logical-time", "2026-11-28 00:30"], expect: 0)                           // run 4
            // 2026-11-26 06:30 JST = 1795642200; 2026-11-27 23:59:59 JST = 1795791599.
            try sql("""
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
                  VALUES ('link', 1795728600, 'Asia/Tokyo', 'schedule', 1, 'missed', 'abc', '{}', '{}', '2026-11-27 21:30:00.000');
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, started_at, finished_at, error_class, error_message, failed_step)
                  VALUES ('tally', 1795791599, 'Asia/Tokyo', 'schedule', 1, 'interrupted', 'abc', '{}', '{}', '2026-11-27 14:59:59.500', '2026-11-27 15:00:00.000', '2026-11-27 15:00:02.999', 'interrupted', 'renkeid stopped', 'count');
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, started_at, finished_at, error_class, error_message)
                  VALUES ('count', 1795642200, 'Asia/Tokyo', 'after', 1, 'failed', 'abc', '{}', '{}', '2026-11-25 21:31:00.000', '2026-11-25 21:31:00.100', '2026-11-25 21:31:00.200', 'upstream', 'upstream link failed for 2026-11-26');
                INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('link', 1795642200, 'finish', '2026-11-25 22:00:00.000', '2026-11-25 22:00:00.500');
                INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('tally', 1795791599, 'start', '2026-11-27 15:10:00.000', '2026-11-27 15:10:00.100');
                INSERT INTO file (run_id, position, step, job, logical_date, direction, path, source, bytes, sha256, records, outcome, recorded_at) VALUES
                  (2, 1, 'deliver', 'link', '2026-11-26', 'received', '/w/2/juki.csv', '/srv/in/juki.csv', 1234, 'ab12', 10, 'received', '2026-12-01 21:31:00.001'),
                  (1, 1, 'deliver', 'link', '2026-11-26', 'received', '/w/1/juki.csv', '/srv/in/juki.csv', 1234, 'ab12', 10, 'received', '2026-12-01 21:30:00.001'),
                  (2, 1, 'deliver', 'link', '2026-11-26', 'delivered', '/srv/out/juki.csv', NULL, 1234, 'ab12', 10, 'delivered', '2026-12-01 21:31:00.002'),
                  (4, 1, 'deliver', 'link', '2026-11-27', 'received', '/w/4/a.csv', '/srv/in/a.csv', 99, 'cd34', NULL, 'received', '2026-12-01 21:32:00.000'),
                  (4, 1, 'deliver', 'link', '2026-11-27', 'delivered', '/srv/out/a.csv', NULL, 98, 'cd35', 7, 'delivered', '2026-12-01 21:32:00.100'),
                  (3, 1, 'count', 'tally', '2026-11-27', 'received', '/w/3/t.csv', '/srv/in/t.csv', 50, 'ef56', 3, 'received', '2026-12-01 21:33:00.000');
                """)
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func renkei(_ arguments: [String], expect status: Int32) throws {
            let done = try execute(renkeictl, arguments + ["--jobs", jobs, "--state", state])
            guard done.status == status else { throw ScratchFailure("renkeictl \(arguments): \(done.status) \(done.stdout) \(done.stderr)") }
        }

        @discardableResult
        func sql(_ text: String) throws -> String {
            let result = try execute("/usr/bin/sqlite3", [state + "/renkei.db", text])
            guard result.status == 0 else { throw ScratchFailure("sqlite3: \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The environment both reports run in: a zone east of UTC, so days are cut at +09:00, and
    /// no RENKEI_STORE of the caller's.
    static func environment(store: String? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["RENKEI_STORE"] = store
        environment["TZ"] = "Asia/Tokyo"
        environment["LANG"] = "C"
        environment["NO_COLOR"] = "1"
        return environment
    }

    /// A copied history: SQLite's state directory and a PostgreSQL with the same rows.
    func copied() async throws -> (History, ScratchPostgres) {
        let history = try History()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", "sqlite:\(history.state)/renkei.db", "--to", postgres.url()])
        guard copy.status == 0 else { throw ScratchFailure("store copy: \(copy.status) \(copy.stdout) \(copy.stderr)") }
        return (history, postgres)
    }

    /// The report of SQLite, of PostgreSQL, and of SQLite again. A report says how long open
    /// failures have been open, from the second it is made; when both SQLite reports are the
    /// same, the clock did not move them, and PostgreSQL's (made between) must be that too,
    /// byte for byte. Asked again (at most 8 times) when a second ticked over in between.
    func sameOnBoth(_ history: History, _ postgres: ScratchPostgres, _ arguments: [String], viaEnvironment: Bool = false,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let sqlite = ["report"] + arguments + ["--jobs", history.jobs, "--state", history.state]
        let pg = ["report"] + arguments + ["--jobs", history.jobs] + (viaEnvironment ? [] : ["--store", postgres.url()])
        for _ in 1...8 {
            let before = try execute(renkeictl, sqlite, environment: Self.environment())
            let other = try execute(renkeictl, pg, environment: Self.environment(store: viaEnvironment ? postgres.url() : nil))
            let after = try execute(renkeictl, sqlite, environment: Self.environment())
            #expect(before.status == 0 && other.status == 0, "\(arguments): sqlite \(before.status) \(before.stderr) / postgresql \(other.status) \(other.stderr)", sourceLocation: sourceLocation)
            guard before.stdout == after.stdout else { continue }
            #expect(other.stdout == before.stdout, "\(arguments): first difference: \(Self.firstDifference(before.stdout, other.stdout))", sourceLocation: sourceLocation)
            #expect(other.stderr == before.stderr, "\(arguments)", sourceLocation: sourceLocation)
            return other.stdout
        }
        Issue.record("\(arguments): the SQLite report changed between two runs eight times over", sourceLocation: sourceLocation)
        return ""
    }

    static func firstDifference(_ a: String, _ b: String) -> String {
        let left = a.split(separator: "\n", omittingEmptySubsequences: false), right = b.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(left.count, right.count) {
            let l = index < left.count ? String(left[index]) : "(none)", r = index < right.count ? String(right[index]) : "(none)"
            if l != r { return "line \(index + 1): sqlite «\(l)» postgresql «\(r)»" }
        }
        return "none"
    }

    static let period = ["--since", "2026-11-20", "--until", "2026-12-05"]

    @Test func theReportReadsTheSameOnBothStoresInEveryFormat() async throws {
        let (history, postgres) = try await copied()
        let json = try sameOnBoth(history, postgres, Self.period + ["--format", "json"])
        // What was compared is the whole history, not an empty report that would match anyway.
        let report = try JSONDecoder().decode(FailureReport.self, from: Data(json.utf8))
        #expect(report.totals.counts.runs == 6, "\(json)")              // the missed slot is not a run
        #expect(report.totals.counts.missed == 1 && report.totals.counts.deadlineBreaches == 2, "\(json)")
        #expect(report.resolved.map(\.run) == [1] && report.resolved.first?.resolvedBy == 2, "\(json)")
        #expect(Set(report.unresolved.map(\.job)) == ["tally", "count"], "\(json)")
        #expect(report.unresolved.contains { $0.error.contains("renkeid stopped") }, "\(json)")
        #expect(report.days.map(\.date).contains("2026-11-28"), "\(json)")  // run 4, 00:30 at +09:00
        #expect(report.reconciliation.count == 3, "\(json)")
        #expect((report.auditHead?.seq ?? 0) > 0, "\(json)")
        let text = try sameOnBoth(history, postgres, Self.period + ["--format", "text"])
        #expect(text.contains("tally"), "\(text)")
        _ = try sameOnBoth(history, postgres, Self.period + ["--format", "csv", "--lang", "ja"])
        _ = try sameOnBoth(history, postgres, Self.period + ["--format", "html"], viaEnvironment: true)
    }

    @Test func aJobFilterAndAnEmptyPeriodReadTheSame() async throws {
        let (history, postgres) = try await copied()
        let tally = try sameOnBoth(history, postgres, Self.period + ["--job", "tally", "--format", "json"])
        let report = try JSONDecoder().decode(FailureReport.self, from: Data(tally.utf8))
        #expect(report.jobs.map(\.job) == ["tally"] && report.unresolved.count == 2, "\(tally)")
        let two = try sameOnBoth(history, postgres, Self.period + ["--job", "tally", "--job", "count", "--format", "text"])
        #expect(two.contains("\n  count ") && two.contains("\n  tally ") && !two.contains("\n  link "), "\(two)")
        let empty = try sameOnBoth(history, postgres, ["--since", "2020-01-01", "--until", "2020-01-08", "--format", "json"])
        let none = try JSONDecoder().decode(FailureReport.self, from: Data(empty.utf8))
        #expect(none.totals.counts.runs == 0 && none.unresolved.isEmpty && none.resolved.isEmpty && none.days.isEmpty, "\(empty)")
    }

    @Test func anUnreachableDatabaseExits3AndAStoppedOneToo() async throws {
        let history = try History()
        let nowhere = try execute(renkeictl, ["report", "--store", "postgresql:///renkei?host=/nonexistent-renkei-socket&user=renkei", "--jobs", history.jobs],
                                  environment: Self.environment())
        #expect(nowhere.status == 3, "\(nowhere.stdout) \(nowhere.stderr)")
        #expect(nowhere.stderr.contains("report: ") && nowhere.stderr.contains("/nonexistent-renkei-socket"), "\(nowhere.stderr)")
        let bad = try execute(renkeictl, ["report", "--jobs", history.jobs], environment: Self.environment(store: "postgresql:///renkei?host=/x&password=p"))
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("RENKEI_STORE"), "\(bad.stderr)")
        // A sqlite: store keeps today's report: read from --state, PostgreSQL not involved.
        let sqlite = try execute(renkeictl, ["report", "--store", "sqlite:/nonexistent/renkei.db", "--jobs", history.jobs, "--state", history.state, "--format", "json"],
                                 environment: Self.environment())
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        // A database without Renkei's tables says what to run.
        let postgres = try ScratchPostgres()
        let bare = try execute(renkeictl, ["report", "--store", postgres.url(), "--jobs", history.jobs], environment: Self.environment())
        #expect(bare.status == 1, "\(bare.stderr)")
        #expect(bare.stderr.contains("renkeictl store migrate"), "\(bare.stderr)")
    }
}
