import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// `renkeictl history` and `renkeictl audit [--verify]` with `--store postgresql:…`, as an
/// operator runs them after `store copy`: the built renkeictl as a child process against a SQLite
/// store it made itself and a real PostgreSQL 15 holding the copy. The same command must print
/// the same thing from either store.
@Suite(.serialized) struct PostgresReadCommandTests {
    /// StoreCopyTests' store (run 1 failed, run 2 its rerun, run 3 scheduled) plus a scheduled
    /// run that failed and its retry (runs 4 and 5), and a run of another job (6).
    private func sourceWithChains() throws -> StoreCopyTests.SourceStore {
        let source = try StoreCopyTests.SourceStore()
        try source.sql("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             queued_at, started_at, finished_at, exit_status, error_class, error_message, failed_step)
              VALUES ('link', 1796160600, 'Asia/Tokyo', 'schedule', 1, 'failed', 'abc', '{}', '{}', '2026-12-02 21:30:00.004',
                      '2026-12-02 21:30:00.020', '2026-12-02 21:30:01.555', 2, 'exit', 'step deliver exited with status 2', 'deliver');
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             retry_of, queued_at, started_at, finished_at)
              VALUES ('link', 1796160600, 'Asia/Tokyo', 'retry', 2, 'succeeded', 'abc', '{}', '{}', 4, '2026-12-02 21:35:01.556',
                      '2026-12-02 21:35:01.600', '2026-12-02 21:36:12.999');
            UPDATE run SET resolved_by = 5, resolved_at = '2026-12-02 21:36:12.999' WHERE id = 4;
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             requested_by_uid, requested_by_user, reason, queued_at, started_at, finished_at)
              VALUES ('other', 1796074200, 'Asia/Tokyo', 'manual', 1, 'succeeded', 'def', '{}', '{}', 1001, 'tanaka', 'month end',
                      '2026-12-03 09:00:00.250', '2026-12-03 09:00:00.260', '2026-12-03 09:04:30.261');
            """)
        return source
    }

    @Test func historyAndAuditPrintTheSameFromACopiedStore() async throws {
        let source = try sourceWithChains()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        try #require(copy.status == 0, "\(copy.stdout) \(copy.stderr)")

        let commands: [[String]] = [
            ["history", "--json"], ["history"], ["history", "link", "--limit", "1"], ["history", "link", "--since", "2026-12-02T00:00Z"],
            ["history", "link", "--json"], ["history", "nothing-here"], ["audit"], ["audit", "--json"], ["audit", "--since", "2030-01-01"],
            ["audit", "--verify"],
        ]
        for command in commands {
            let sqlite = try renkeictlRun(command + ["--state", source.root + "/state"])
            let fromPostgres = try renkeictlRun(command + ["--store", postgres.url()])
            #expect(sqlite.status == 0, "\(command) on SQLite: \(sqlite.stderr)")
            #expect(fromPostgres.status == 0, "\(command) on PostgreSQL: \(fromPostgres.stderr)")
            #expect(!fromPostgres.stdout.isEmpty, "\(command)")
            #expect(fromPostgres.stdout == sqlite.stdout, "\(command):\n--- SQLite\n\(sqlite.stdout)\n--- PostgreSQL\n\(fromPostgres.stdout)")
        }

        // What the identical output holds: the chains, the filters, the audit rows.
        let text = try renkeictlRun(["history", "--store", postgres.url()]).stdout
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        try #require(lines.count == 7, "\(text)")
        #expect(lines[1].hasPrefix("6 other "), "\(text)")
        #expect(lines.contains { $0.hasPrefix("5 link ") && $0.contains(" retry 2 ") && $0.contains("retry of 4") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("4 link ") && $0.contains("resolved by 5") && $0.contains("step deliver exited with status 2") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("2 link ") && $0.contains("rerun of 1") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("1 link ") && $0.contains("resolved by 2") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("4 link ") && $0.contains(" 1.5s ") }, "\(text)")

        let newest = try renkeictlRun(["history", "link", "--limit", "1", "--store", postgres.url()]).stdout
        #expect(newest.split(separator: "\n").dropFirst().map { $0.prefix(2) } == ["5 "], "\(newest)")
        // Runs 1 and 2 were queued when the test ran (after 2026-12-02), run 3 the day before.
        let since = try renkeictlRun(["history", "link", "--since", "2026-12-02T00:00Z", "--store", postgres.url()]).stdout
        #expect(since.split(separator: "\n").dropFirst().map { $0.prefix(2) } == ["5 ", "4 ", "2 ", "1 "], "\(since)")
        #expect(try renkeictlRun(["history", "nothing-here", "--store", postgres.url()]).stdout == "no runs of nothing-here recorded\n")

        let json = try renkeictlRun(["history", "--json", "--store", postgres.url()]).stdout
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(runs.map { $0["id"] as? Int } == [6, 5, 4, 3, 2, 1], "\(json)")

        let audit = try renkeictlRun(["audit", "--store", postgres.url()]).stdout
        #expect(audit.contains("first try") && audit.contains("target back up"), "\(audit)")
        let verified = try renkeictlRun(["audit", "--verify", "--store", postgres.url()])
        #expect(verified.stdout == "audit log intact: 2 rows, hash chain verified\n", "\(verified.stdout)")
        #expect(verified.stderr.contains("the journal heads are not checked on PostgreSQL yet"), "\(verified.stderr)")

        // The environment names the store as well as --store does.
        let fromEnvironment = try renkeictlRun(["history"], store: postgres.url())
        #expect(fromEnvironment.status == 0 && fromEnvironment.stdout == text, "\(fromEnvironment.stderr)")
        // A SQLite store URL keeps today's reading of the state directory.
        let sqliteURL = try renkeictlRun(["history", "--state", source.root + "/state"], store: source.url)
        #expect(sqliteURL.status == 0 && sqliteURL.stdout == text, "\(sqliteURL.stderr)")
    }

    @Test func anAuditRowEditedWithTheTriggersOffIsNamedAndExitsOne() async throws {
        let source = try sourceWithChains()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        try #require(copy.status == 0, "\(copy.stdout) \(copy.stderr)")
        #expect(try renkeictlRun(["audit", "--verify", "--store", postgres.url()]).status == 0)

        // The append-only triggers stop the owner's role...
        let blocked = try postgres.psql("UPDATE audit SET reason = 'routine check' WHERE id = 1")
        #expect(blocked.status != 0, "\(blocked.stdout)")
        // ...but a superuser can turn them off.
        let edited = try postgres.psql("""
            ALTER TABLE audit DISABLE TRIGGER USER;
            UPDATE audit SET reason = 'routine check' WHERE id = 1;
            ALTER TABLE audit ENABLE TRIGGER USER;
            """)
        #expect(edited.status == 0, "\(edited.stderr)")

        let verify = try renkeictlRun(["audit", "--verify", "--store", postgres.url()])
        #expect(verify.status == 1, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("the audit log of \(postgres.url()) was altered:\n"), "\(verify.stdout)")
        #expect(verify.stdout.contains("  - audit row 1: its contents do not match its hash: the row was edited"), "\(verify.stdout)")
        #expect(verify.stderr.contains("pg_dump -Fc renkei"), "\(verify.stderr)")
        // The list still shows what the table now says.
        #expect(try renkeictlRun(["audit", "--store", postgres.url()]).stdout.contains("routine check"))
    }

    @Test func anUnreachableDatabaseExitsThreeAndABadURLTwo() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let stopped = try execute(repository + "/Tests/Support/scratch-postgres.sh", ["stop", postgres.directory])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        for command in [["history"], ["history", "link", "--json"], ["audit"], ["audit", "--verify"]] {
            let unreachable = try renkeictlRun(command + ["--store", postgres.url()])
            #expect(unreachable.status == 3, "\(command): \(unreachable.stdout)\(unreachable.stderr)")
            #expect(unreachable.stderr.contains("\(command[0]): "), "\(unreachable.stderr)")
            #expect(unreachable.stderr.contains("cannot reach PostgreSQL at postgresql:///renkei?host=\(postgres.directory)"), "\(unreachable.stderr)")
            #expect(unreachable.stdout.isEmpty, "\(command): \(unreachable.stdout)")
        }
        let bad = try renkeictlRun(["history", "--store", "postgresql:///renkei?host=/run/postgresql"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("history: --store 'postgresql:///renkei?host=/run/postgresql'"), "\(bad.stderr)")
    }
}
