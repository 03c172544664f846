import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// `renkeictl store copy` as an operator runs it: a SQLite store made by the built renkeictl
/// (a failed run, its rerun), rows of every other table added with the sqlite3 shell, and a real
/// PostgreSQL 15 as the target.
@Suite(.serialized) struct StoreCopyTests {
    /// A state directory with a store: run 1 failed, run 2 its rerun (resolving it), run 3 a
    /// scheduled run, and a row in every other table. Removed at the end.
    final class SourceStore {
        let root: String
        var database: String { root + "/state/renkei.db" }
        var url: String { "sqlite:" + database }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-copy-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
            let job = """
                timezone: Asia/Tokyo
                steps:
                  - name: export
                    run: ["/bin/sh", "-c", "echo exported 12 records; echo 'warn: 1 skipped' >&2"]
                  - name: deliver
                    run: ["/bin/sh", "-c", "test -e \(root)/ok || { echo target refused >&2; exit 2; }"]
                """
            _ = FileManager.default.createFile(atPath: root + "/jobs/link.yaml", contents: Data(job.utf8))
            let failed = try execute(renkeictl, ["run", "link", "--local", "--jobs", root + "/jobs", "--state", root + "/state",
                                                 "--logical-time", "2026-11-26 06:30", "--reason", "first try"])
            guard failed.status == 1 else { throw ScratchFailure("run --local: \(failed.status) \(failed.stdout) \(failed.stderr)") }
            _ = FileManager.default.createFile(atPath: root + "/ok", contents: Data())
            let rerun = try execute(renkeictl, ["rerun", "1", "--local", "--jobs", root + "/jobs", "--state", root + "/state", "--reason", "target back up"])
            guard rerun.status == 0 else { throw ScratchFailure("rerun --local: \(rerun.status) \(rerun.stdout) \(rerun.stderr)") }
            try sql("""
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, started_at, finished_at)
                  VALUES ('link', 1796074200, 'Asia/Tokyo', 'schedule', 1, 'succeeded', 'abc', '{}', '{}', '2026-12-01 21:30:00.007', '2026-12-01 21:30:00.010', '2026-12-01 21:30:02.999');
                INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('link', 1796074200, 'finish', '2026-12-01 22:00:00.000', '2026-12-01 22:00:00.500');
                INSERT INTO file (run_id, position, step, job, logical_date, direction, path, bytes, sha256, outcome, recorded_at)
                  VALUES (2, 1, 'deliver', 'link', '2026-11-26', 'delivered', '/srv/out/juki.csv', 1234, 'ab12', 'delivered', '2026-12-01 21:31:00.001');
                INSERT INTO trigger_file (job, path, sha256, bytes, logical_date, run_id, seen_at) VALUES ('link', '/srv/in/a.csv', 'cd34', 99, '2026-12-01', 3, '2026-12-01 21:29:59.250');
                INSERT INTO hold (job, held_by, reason, since, "until") VALUES ('link', 'tanaka (uid 1001)', 'ticket 4411: welfare system down', '2026-12-01 23:00:00.000', NULL);
                INSERT INTO notification (run_id, job, logical_date, event, channel, recipients, at, result, attempt)
                  VALUES (1, 'link', '2026-11-26', 'failed', 'mail', 'ops@city.example', '2026-12-01 21:30:05.123', 'ok', 1);
                """)
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        @discardableResult
        func sql(_ text: String) throws -> String {
            let result = try execute("/usr/bin/sqlite3", [database, text])
            guard result.status == 0 else { throw ScratchFailure("sqlite3: \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static let tables = ["run", "step", "deadline_breach", "audit", "file", "trigger_file", "hold", "notification"]

    func psql(_ postgres: ScratchPostgres, _ text: String) throws -> String {
        let result = try postgres.psql(text)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func counts(_ postgres: ScratchPostgres) throws -> [String] {
        try Self.tables.map { try psql(postgres, "SELECT count(*) FROM \($0)") }
    }

    @Test func aCopyMovesEveryRowColumnForColumnAndVerifiesTheAuditChain() async throws {
        let source = try SourceStore()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(copy.status == 0, "\(copy.stdout) \(copy.stderr)")
        #expect(copy.stdout.contains("verified: every row read back matches, and the audit chain verifies in PostgreSQL"), "\(copy.stdout)")

        // Counts on both sides, as printed and as the databases say.
        for table in Self.tables {
            let rows = try source.sql("SELECT count(*) FROM \(table)")
            #expect(try psql(postgres, "SELECT count(*) FROM \(table)") == rows, "\(table)")
            #expect(copy.stdout.split(separator: "\n").contains { $0.split(separator: " ", omittingEmptySubsequences: true) == [Substring(table), Substring(rows), Substring(rows)] },
                    "\(table) \(rows): \(copy.stdout)")
        }
        #expect(try source.sql("SELECT count(*) FROM run") == "3")
        #expect(try source.sql("SELECT count(*) FROM audit") == "2")

        // Runs column for column, times to the millisecond, the forward link (run 1 resolved by run 2).
        let runColumns = "id, job, logical_time, trigger, attempt, state, reason, rerun_of, resolved_by, error_class, owner"
        let sqliteRuns = try source.sql("SELECT \(runColumns), strftime('%Y-%m-%dT%H:%M:%fZ', queued_at), strftime('%Y-%m-%dT%H:%M:%fZ', finished_at) FROM run ORDER BY id")
        let pgRuns = try psql(postgres, """
            SELECT \(runColumns), to_char(queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM run ORDER BY id
            """)
        #expect(pgRuns == sqliteRuns)
        #expect(pgRuns.contains("1|link|1795642200|manual|1|failed|first try||2|exit|"), "\(pgRuns)")
        #expect(pgRuns.contains("2026-12-01T21:30:00.007Z|2026-12-01T21:30:02.999Z"), "\(pgRuns)")

        // A run's steps with their output tails, byte for byte.
        let sqliteSteps = try source.sql("SELECT run_id, position, name, state, exit_status, hex(stdout_tail), hex(stderr_tail), stdout_bytes FROM step ORDER BY run_id, position")
        let pgSteps = try psql(postgres, "SELECT run_id, position, name, state, exit_status, upper(encode(stdout_tail, 'hex')), upper(encode(stderr_tail, 'hex')), stdout_bytes FROM step ORDER BY run_id, position")
        #expect(pgSteps == sqliteSteps)
        #expect(pgSteps.contains("1|1|deliver|failed|2||\(Self.hex("target refused\n"))|0"), "\(pgSteps)")

        // The audit rows, and the head both sides and audit_head agree on.
        let auditColumns = "id, uid, \"user\", pid, request, reason, result, run_id, previous_hash, hash, sealing"
        let sqliteAudit = try source.sql("SELECT \(auditColumns), strftime('%Y-%m-%dT%H:%M:%fZ', at) FROM audit ORDER BY id")
        let pgAudit = try psql(postgres, "SELECT \(auditColumns), to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM audit ORDER BY id")
        #expect(pgAudit == sqliteAudit)
        let lastHash = try source.sql("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
        #expect(try psql(postgres, "SELECT seq || '|' || hash FROM audit_head") == "2|\(lastHash)")
        #expect(copy.stdout.contains("audit head in SQLite:     row 2, hash \(lastHash)"), "\(copy.stdout)")
        #expect(copy.stdout.contains("audit head in PostgreSQL: row 2, hash \(lastHash)"), "\(copy.stdout)")

        // Every other table, one row each, all columns.
        #expect(try psql(postgres, "SELECT job, reason, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), \"until\" IS NULL FROM hold")
                == "link|ticket 4411: welfare system down|2026-12-01 23:00:00.000|t")
        #expect(try psql(postgres, "SELECT run_id, path, bytes, records IS NULL FROM file") == "2|/srv/out/juki.csv|1234|t")
        #expect(try psql(postgres, "SELECT run_id, sha256, to_char(seen_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM trigger_file") == "3|cd34|21:29:59.250")
        #expect(try psql(postgres, "SELECT run_id, recipients, result FROM notification") == "1|ops@city.example|ok")
        #expect(try psql(postgres, "SELECT kind, to_char(recorded_at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') FROM deadline_breach") == "finish|22:00:00.500")

        // The slot ledger continues from the scheduled run; new ids come after the copied ones.
        #expect(try psql(postgres, "SELECT job || '|' || logical_time || '|' || outcome || '|' || epoch FROM slot") == "link|1796074200|queued|0")
        #expect(try psql(postgres, "SELECT job || '|' || last_slot FROM job_cursor") == "link|1796074200")
        #expect(try psql(postgres, """
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
            VALUES ('link', 1, 'Asia/Tokyo', 'manual', 1, 'queued', 'x', '{}', '{}', now()) RETURNING id
            """).hasPrefix("4"))
    }

    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02X", $0) }.joined() }

    @Test func aSecondCopyIntoTheFilledTargetIsRefusedAndChangesNothing() async throws {
        let source = try SourceStore()
        let postgres = try await ScratchPostgres().migrated()
        let first = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try counts(postgres)
        let head = try psql(postgres, "SELECT seq || '|' || hash FROM audit_head")

        let second = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(second.status == 1, "\(second.stdout) \(second.stderr)")
        #expect(second.stderr.contains("already holds a history (run: 3 row(s), step: 4 row(s)"), "\(second.stderr)")
        #expect(second.stderr.contains("a copy never merges two histories, so nothing was copied"), "\(second.stderr)")
        #expect(try counts(postgres) == before)
        #expect(try psql(postgres, "SELECT seq || '|' || hash FROM audit_head") == head)
    }

    @Test func anUnmigratedTargetIsRefusedWithTheMigrateCommand() async throws {
        let source = try SourceStore()
        let postgres = try ScratchPostgres()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(copy.status == 1, "\(copy.stdout) \(copy.stderr)")
        #expect(copy.stderr.contains("is at schema version 0, not \(PostgresSchema.latest): run `renkeictl store migrate --store '\(postgres.url())'` first"), "\(copy.stderr)")
        #expect(try psql(postgres, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0")

        // One version behind is refused too.
        _ = try await postgres.withSession { try await SchemaMigrator.migrate($0, upTo: PostgresSchema.latest - 1) }
        let behind = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(behind.status == 1)
        #expect(behind.stderr.contains("is at schema version \(PostgresSchema.latest - 1)"), "\(behind.stderr)")
        #expect(try psql(postgres, "SELECT count(*) FROM run") == "0")
    }

    @Test func aSourceWhoseAuditRowWasEditedIsRefusedAndTheTargetStaysEmpty() async throws {
        let source = try SourceStore()
        // What someone with the sqlite3 shell and write access can do: drop the guard, edit a row.
        try source.sql("DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'routine' WHERE id = 1;")
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(copy.status == 1, "\(copy.stdout) \(copy.stderr)")
        #expect(copy.stderr.contains("the audit chain of \(source.database) does not verify, so nothing was copied: audit row 1: its contents do not match its hash: the row was edited"), "\(copy.stderr)")
        #expect(copy.stderr.contains("renkeictl audit --verify --state \(source.root)/state"), "\(copy.stderr)")
        #expect(try counts(postgres) == Array(repeating: "0", count: Self.tables.count))
        #expect(try psql(postgres, "SELECT count(*) FROM audit_head") == "0")
    }

    @Test func aSourceWithARunStillRunningIsRefusedUntilRenkeidIsStopped() async throws {
        let source = try SourceStore()
        try source.sql("UPDATE run SET state = 'running', finished_at = NULL WHERE id = 3")
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(copy.status == 1, "\(copy.stdout) \(copy.stderr)")
        #expect(copy.stderr.contains("has runs still running (run 3 of link): stop renkeid first"), "\(copy.stderr)")
        #expect(try counts(postgres) == Array(repeating: "0", count: Self.tables.count))
    }

    @Test func aTargetThatChangesWhatIsWrittenFailsVerificationAndIsRolledBack() async throws {
        let source = try SourceStore()
        let postgres = try await ScratchPostgres().migrated()
        // A target that does not keep what it is given (here a trigger rewriting a message).
        #expect(try postgres.psql("""
            CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.error_message := 'all fine'; RETURN NEW; END $$;
            CREATE TRIGGER tamper BEFORE INSERT ON run FOR EACH ROW EXECUTE FUNCTION tamper();
            """).status == 0)
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(copy.status == 1, "\(copy.stdout) \(copy.stderr)")
        #expect(copy.stderr.contains("the copy did not verify, so it was rolled back and the target stays empty: run id 1, column error_message: SQLite has 'step deliver: exit status 2', PostgreSQL has 'all fine'"), "\(copy.stderr)")
        #expect(try counts(postgres) == Array(repeating: "0", count: Self.tables.count))
        #expect(try psql(postgres, "SELECT count(*) FROM slot") == "0")
    }

    @Test func theWrongKindOfStoreOnEitherSideIsAUsageErrorNamingTheArgument() throws {
        let toSQLite = try execute(renkeictl, ["store", "copy", "--from", "sqlite:/var/lib/renkei/renkei.db", "--to", "sqlite:/tmp/other.db"])
        #expect(toSQLite.status == 2)
        #expect(toSQLite.stderr.contains("--to 'sqlite:/tmp/other.db' is not a PostgreSQL store"), "\(toSQLite.stderr)")

        let fromPostgres = try execute(renkeictl, ["store", "copy", "--from", "postgresql:///renkei?host=/run/postgresql&user=renkei",
                                                   "--to", "postgresql:///renkei?host=/run/postgresql&user=renkei"])
        #expect(fromPostgres.status == 2)
        #expect(fromPostgres.stderr.contains("--from 'postgresql:///renkei?host=/run/postgresql&user=renkei' is not a SQLite store"), "\(fromPostgres.stderr)")

        let password = try execute(renkeictl, ["store", "copy", "--from", "sqlite:/x.db", "--to", "postgresql://renkei:secret@db.example/renkei?user=renkei&sslmode=require"])
        #expect(password.status == 2)
        #expect(password.stderr.contains("--to '"), "\(password.stderr)")
        #expect(password.stderr.contains("a password in the URL would show in ps"), "\(password.stderr)")

        // The source is read before PostgreSQL is reached: a missing one names --from.
        let missing = try execute(renkeictl, ["store", "copy", "--from", "sqlite:/nonexistent/renkei.db", "--to", "postgresql:///renkei?host=/nonexistent&user=renkei"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--from: no SQLite store at /nonexistent/renkei.db"), "\(missing.stderr)")
    }
}
