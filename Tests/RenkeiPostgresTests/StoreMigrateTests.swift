import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// `renkeictl store migrate` against a real PostgreSQL 15, as an operator runs it.
@Suite(.serialized) struct StoreMigrateTests {
    @Test func migrateCreatesTheSchemaAndASecondRunChangesNothing() throws {
        let postgres = try ScratchPostgres()
        let first = try execute(renkeictl, ["store", "migrate", "--store", postgres.url()])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("created Renkei's schema at version \(PostgresSchema.latest)"), "\(first.stdout)")

        let tables = try postgres.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
        #expect(tables.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == "audit,audit_head,deadline_breach,file,hold,job_cursor,lease,node,notification,renkei_schema,request,run,slot,step,trigger_file")
        let versions = try postgres.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM renkei_schema")
        #expect(versions.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == PostgresSchema.migrations.map { "\($0.version)" }.joined(separator: ","))

        let second = try execute(renkeictl, ["store", "migrate", "--store", postgres.url()])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("already at version \(PostgresSchema.latest)"), "\(second.stdout)")
        let again = try postgres.psql("SELECT count(*) FROM renkei_schema")
        #expect(again.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(PostgresSchema.migrations.count)")
    }

    @Test func migrateUpgradesADatabaseAtAnOlderVersionKeepingItsRuns() async throws {
        let postgres = try ScratchPostgres()
        #expect(try await postgres.withSession { try await SchemaMigrator.migrate($0, upTo: 1) } == .created(version: 1))
        let insert = try postgres.psql("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
            VALUES ('juki-to-fukushi', 1764538200, 'Asia/Tokyo', 'schedule', 1, 'succeeded', 'abc', '{}', '{}', now())
            """)
        #expect(insert.status == 0, "\(insert.stderr)")

        let upgraded = try execute(renkeictl, ["store", "migrate", "--store", postgres.url()])
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(upgraded.stdout.contains("upgraded Renkei's schema from version 1 to \(PostgresSchema.latest)"), "\(upgraded.stdout)")
        let run = try postgres.psql("SELECT job, state, claim IS NULL, owner_node IS NULL FROM run")
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "juki-to-fukushi|succeeded|t|t")
    }

    @Test func theStoreURLIsReadBeforeAnyConnectionAndErrorsNameTheArgument() throws {
        let missingUser = try execute(renkeictl, ["store", "migrate", "--store", "postgresql:///renkei?host=/run/postgresql"])
        #expect(missingUser.status == 2)
        #expect(missingUser.stderr.contains("--store 'postgresql:///renkei?host=/run/postgresql': no role: add user=ROLE"), "\(missingUser.stderr)")

        let clearText = try execute(renkeictl, ["store", "migrate"], environment: ["RENKEI_STORE": "postgresql://db.example/renkei?user=renkei"])
        #expect(clearText.status == 2)
        #expect(clearText.stderr.contains("RENKEI_STORE 'postgresql://db.example/renkei?user=renkei': TCP to 'db.example' without TLS"), "\(clearText.stderr)")

        let sqlite = try execute(renkeictl, ["store", "migrate", "--store", "sqlite:/var/lib/renkei/renkei.sqlite"])
        #expect(sqlite.status == 2)
        #expect(sqlite.stderr.contains("is a SQLite store"), "\(sqlite.stderr)")
    }

    @Test func noServerAtTheSocketIsExitThreeNamingTheSocket() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-nopg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try execute(renkeictl, ["store", "migrate", "--store", "postgresql:///renkei?host=\(directory)&user=renkei"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("cannot reach PostgreSQL"), "\(result.stderr)")
        #expect(result.stderr.contains("\(directory)/.s.PGSQL.5432"), "\(result.stderr)")
    }

    @Test func aRoleWithoutTheRightToCreateTablesIsExitFourAndLeavesNothing() throws {
        let postgres = try ScratchPostgres()
        // PostgreSQL 15 no longer lets every role create tables in `public`.
        #expect(try postgres.psql("CREATE ROLE clerk LOGIN").status == 0)
        let result = try execute(renkeictl, ["store", "migrate", "--store", postgres.url(user: "clerk")])
        #expect(result.status == 4, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("permission denied"), "\(result.stderr)")
        #expect(result.stderr.contains("SQLSTATE 42501"), "\(result.stderr)")
        let tables = try postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        #expect(tables.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func theAuditTableRefusesEditsAndDeletions() throws {
        let postgres = try ScratchPostgres()
        #expect(try execute(renkeictl, ["store", "migrate", "--store", postgres.url()]).status == 0)
        let insert = try postgres.psql("""
            INSERT INTO audit (at, uid, "user", pid, request, result, previous_hash, hash)
            VALUES (now(), 1000, 'tanaka', 4242, 'rerun 7', 'accepted', '', 'h1')
            """)
        #expect(insert.status == 0, "\(insert.stderr)")
        for tampering in ["UPDATE audit SET result = 'refused'", "DELETE FROM audit", "TRUNCATE audit"] {
            let result = try postgres.psql(tampering)
            #expect(result.status != 0, "\(tampering) was allowed")
            #expect(result.stderr.contains("the audit log is append-only"), "\(tampering): \(result.stderr)")
        }
        #expect(try postgres.psql("SELECT result FROM audit").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "accepted")
    }
}
