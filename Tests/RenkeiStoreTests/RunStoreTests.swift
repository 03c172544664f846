import Foundation
import GRDB
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

@Suite struct RunStoreTests {
    private func scratchDatabase() throws -> (String, () -> Void) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-store-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory + "/renkei.db", { try? FileManager.default.removeItem(atPath: directory) })
    }

    private let job = Job(name: JobName("juki")!, steps: [Step(name: "export", command: .argv(["/bin/true"])),
                                                          Step(name: "deliver", command: .argv(["/bin/false"]))], definitionHash: "abc")

    @Test func theDatabaseIsWALWithFullSync() async throws {
        let (path, cleanup) = try scratchDatabase()
        defer { cleanup() }
        let store = try RunStore.openForWriting(at: path)
        let (mode, synchronous) = try await store.pool.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(mode == "wal")
        #expect(synchronous == 2)  // FULL
        let migrations = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(migrations == ["v1: runs and steps", "v2: deadline breaches", "v3: audit", "v4: report index", "v5: files", "v6: waiting runs", "v7: trigger files", "v8: holds", "v9: purged runs", "v10: notifications"])
    }

    @Test func aRunPassesThroughItsStatesAndCannotEndTwice() async throws {
        let (path, cleanup) = try scratchDatabase()
        defer { cleanup() }
        let store = try RunStore.openForWriting(at: path)
        let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")
        let queued = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual, reason: "late file"), owner: .current, at: Date())
        #expect(queued.state == .queued)
        #expect(try store.detail(runID: queued.id!)?.steps.map(\.state) == [.pending, .pending])
        let running = try await store.start(runID: queued.id!, environment: ["A": "1", "SMTP_PASSWORD": "x"], workDirectory: "/w", at: Date())
        #expect(running.state == .running)
        #expect(running.environment == #"{"A":"1","SMTP_PASSWORD":"(redacted)"}"#)
        try await store.stepFinished(runID: queued.id!, position: 0, end: StepEnd(termination: .exited(0), finishedAt: Date(), stdoutTail: OutputTail(), stderrTail: OutputTail()))
        let finished = try await store.finish(runID: queued.id!, outcome: RunOutcome(state: .failed, errorClass: .exit, message: "step deliver: exit status 1", failedStep: "deliver", exitStatus: 1), at: Date())
        #expect(finished.state == .failed)
        #expect(finished.owner == nil)
        #expect(try store.detail(runID: queued.id!)?.steps.map(\.state) == [.succeeded, .notRun])
        await #expect(throws: RunState.InvalidTransition.self) {
            try await store.finish(runID: queued.id!, outcome: .succeeded, at: Date())
        }
        // A reader sees the committed end, from another connection.
        let reader = try RunStore.openForReading(at: path)
        #expect(try reader.history(job: "juki").map(\.state) == [.failed])
        #expect(try reader.history(job: "other").isEmpty)
    }

    @Test func anOperatorsRunAndItsAuditEntryAreWrittenTogether() async throws {
        let (path, cleanup) = try scratchDatabase()
        defer { cleanup() }
        let store = try RunStore.openForWriting(at: path)
        let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")
        let commitsBefore = store.recorder!.commits
        let entry = AuditEntry(uid: 1000, user: "tanaka", pid: 42, request: #"{"operation":"run"}"#, reason: "late file", result: "accepted")
        let run = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date(), audit: entry)
        #expect(store.recorder!.commits == commitsBefore + 1)
        let audit = try store.audit()
        #expect(audit.map(\.runId) == [run.id])
        #expect(audit.first?.user == "tanaka")
        #expect(try store.verifyAudit() == nil)
    }

    @Test func aVersion1DatabaseIsMigratedWithItsRunsKept() async throws {
        let (path, cleanup) = try scratchDatabase()
        defer { cleanup() }
        // A store as the first release left it: only "v1", one finished run.
        let old = try DatabasePool(path: path)
        try Migrations.migrator.migrate(old, upTo: "v1: runs and steps")
        try await old.write { db in
            try db.execute(sql: """
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, finished_at, error_class)
                VALUES ('juki', 1795987800, 'Asia/Tokyo', 'schedule', 1, 'failed', 'h', '{}', '{}', '2026-11-30 21:30:00.000', '2026-11-30 21:31:00.000', 'exit')
                """)
        }
        try old.close()
        let store = try RunStore.openForWriting(at: path)
        #expect(try store.history().map(\.state) == [.failed])
        try await store.recordDeadlineBreach(job: "juki", logicalTime: 1_795_987_800, kind: "finish_by", deadline: Date(), at: Date())
        #expect(try store.deadlineBreaches(job: "juki").map(\.kind) == ["finish_by"])
    }

    @Test func readingAMissingStoreSaysWhatToCheck() {
        #expect(throws: RunStore.OpenError.self) { try RunStore.openForReading(at: "/nonexistent/renkei.db") }
        #expect("\(RunStore.OpenError.noDatabase("/x/renkei.db"))".contains("check --state or RENKEI_STATE"))
    }
}
