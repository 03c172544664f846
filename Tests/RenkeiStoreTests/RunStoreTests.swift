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
        #expect(migrations == ["v1: runs and steps", "v2: deadline breaches", "v3: audit", "v4: report index", "v5: files", "v6: waiting runs", "v7: trigger files", "v8: holds", "v9: purged runs", "v10: audit sealing", "v11: notifications"])
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

    @Test func aStoreFromBeforeAuditSealingKeepsItsPlainChainAndGoesOnWithAKeyedOne() async throws {
        let (path, cleanup) = try scratchDatabase()
        defer { cleanup() }
        // Two plain rows as v9 wrote them, without the `sealing` column.
        let old = try DatabasePool(path: path)
        try Migrations.migrator.migrate(old, upTo: "v9: purged runs")
        let plain = try RunStore.openForWriting(at: path + ".plain")
        defer { try? FileManager.default.removeItem(atPath: path + ".plain") }
        for user in ["tanaka", "sato"] {
            _ = try await plain.appendAudit(AuditEntry(uid: 1000, user: user, pid: 42, request: #"{"operation":"hold"}"#, reason: "ticket", result: "accepted"), runID: nil)
        }
        for row in try plain.audit() {
            try await old.write { db in
                try db.execute(sql: "INSERT INTO audit (id, at, uid, user, pid, request, reason, result, run_id, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                               arguments: [row.id, row.at, row.uid, row.user, row.pid, row.request, row.reason, row.result, row.previousHash, row.hash])
            }
        }
        try old.close()
        #expect(try RunStore.openForReading(at: path).audit().map(\.sealing) == [nil, nil], "read before renkeid migrated it")

        let key = Array(repeating: UInt8(7), count: 32)
        let heard = Heard()
        let store = try RunStore.openForWriting(at: path, auditSeal: AuditSeal(key: key) { heard.add($0) })
        let third = try await store.appendAudit(AuditEntry(uid: 0, user: "root", pid: 1, request: #"{"operation":"release"}"#, reason: nil, result: "accepted"), runID: nil)
        #expect(heard.rows == [third], "the row is announced once, after its commit")
        let rows = try store.audit()
        #expect(rows.map(\.sealing) == [.plain, .plain, .keyed])
        #expect(try store.auditRowsWritten() == 3)
        #expect(try store.auditHead() == AuditHead(seq: 3, hash: third.hash))
        #expect(try store.verifyAudit(key: key) == nil)
        let findings = AuditVerification.verify(rows.map(\.link), sequence: 3, journal: .unreadable("test"), key: key, keyedFrom: 3)
        #expect(findings.altered.isEmpty, "\(findings.altered)")
        let strict = AuditVerification.verify(rows.map(\.link), sequence: 3, journal: .unreadable("test"), key: key)
        #expect(strict.altered == ["audit row 1 is not keyed (plain SHA-256) though the key is in use from row 1: the chain was recomputed without the key from here, or a renkeictl without the key wrote the row (give it RENKEI_AUDIT_KEY_FILE); if the key was turned on later, say where with --keyed-from"])
    }

    @Test func readingAMissingStoreSaysWhatToCheck() {
        #expect(throws: RunStore.OpenError.self) { try RunStore.openForReading(at: "/nonexistent/renkei.db") }
        #expect("\(RunStore.OpenError.noDatabase("/x/renkei.db"))".contains("check --state or RENKEI_STATE"))
    }
}

/// Audit rows a store announced.
private final class Heard: @unchecked Sendable {
    private let lock = NSLock()
    private var heard: [AuditRecord] = []

    func add(_ row: AuditRecord) { lock.withLock { heard.append(row) } }
    var rows: [AuditRecord] { lock.withLock { heard } }
}
