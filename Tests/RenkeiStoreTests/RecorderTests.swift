import Foundation
import GRDB
import Synchronization
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// The drain loop: every write committed once, in batches of whatever was waiting, each write
/// with its own outcome; its callers suspended, not blocked, meanwhile.
@Suite struct RecorderTests {
    private let job = Job(name: JobName("juki")!, steps: [Step(name: "export", command: .argv(["/bin/true"]))], definitionHash: "abc")
    private let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")

    /// Holds the recorder's thread inside a batch until `release` is called. The write that holds
    /// it blocks the recorder's own thread, never one of the pool's.
    private func holdTheRecorder(_ store: RunStore) async throws -> @Sendable () -> Void {
        let release = DispatchSemaphore(value: 0)
        Task { _ = try? await store.recorder!.write(fsync: true) { _ in release.wait() } }
        try await Self.waitUntil { store.recorder!.committingNow }
        return { release.signal() }
    }

    /// Polls `condition` (for at most 10 s) without holding a thread.
    private static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<10_000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("waited 10 s for a condition that never held")
        throw CancellationError()
    }

    @Test func writesThatArriveDuringABatchAreCommittedTogetherInTheNext() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let release = try await holdTheRecorder(store)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Before the group waits for its writers, however the body ends.
                defer { release() }
                for queued in 1...7 {
                    group.addTask { [job, logical] in
                        _ = try? await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
                    }
                    try await Self.waitUntil { store.recorder!.waitingNow == queued }
                }
                #expect(store.recorder!.waitingNow == 7)
                let commitsBefore = store.recorder!.commits
                release()
                try await group.waitForAll()
                #expect(store.recorder!.commits == commitsBefore + 2, "the held write, then the seven together")
            }
            #expect(try store.history(job: "juki").count == 7)
        }
    }

    @Test func writersWaitingForACommitHoldNoThread() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let release = try await holdTheRecorder(store)
            // Many more waiting writers than the pool has threads: were each to block its thread
            // until the commit, they could not all get into the queue, and nothing else would run.
            let writers = 8 * ProcessInfo.processInfo.activeProcessorCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask { [job, logical] in
                        _ = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
                    }
                }
                try await Self.waitUntil { store.recorder!.waitingNow == writers }
                #expect(await Task.detached { "other work still runs" }.value == "other work still runs")
                #expect(try store.history(job: "juki").isEmpty, "nothing committed while the recorder is held")
                release()
                try await group.waitForAll()
            }
            #expect(try store.history(job: "juki", limit: 1000).count == writers)
        }
    }

    @Test func aWriteIsCommittedEvenIfTheTaskThatWaitsForItIsCancelled() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let run = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            let release = try await holdTheRecorder(store)
            defer { release() }
            let ending = Task { try await store.finish(runID: run.id!, outcome: .succeeded, at: Date()) }
            try await Self.waitUntil { store.recorder!.waitingNow == 1 }
            ending.cancel()
            release()
            #expect(try await ending.value.state == .succeeded)
            #expect(try store.detail(runID: run.id!)?.run.state == .succeeded)
        }
    }

    @Test func aSubmittedWriteIsCommittedInOrderWithTheAwaitedOnes() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let run = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            let writesBefore = store.recorder!.writes
            store.stepSpawned(runID: run.id!, position: 0, pid: getpid())
            // Queued after it, so committed with it or after it.
            try await store.stepStarted(runID: run.id!, position: 0, command: ["/bin/true"], at: Date())
            #expect(store.recorder!.writes - writesBefore == 2)
            let step = try #require(try store.detail(runID: run.id!)?.steps.first)
            #expect(step.pid == getpid())
            #expect(step.state == .running)
            // A submitted write that fails alone is dropped; the store stays writable.
            store.submit(.processCrash) { db in try db.execute(sql: "INSERT INTO no_such_table VALUES (1)") }
            try await store.probe()
            #expect(store.isWritable)
            // After close, a submitted write is dropped, not committed nor trapped.
            store.close()
            store.stepSpawned(runID: run.id!, position: 0, pid: 1)
            #expect(try RunStore.openForReading(at: directory + "/renkei.db").detail(runID: run.id!)?.steps.first?.pid == getpid())
        }
    }

    @Test func aThousandWritesFromEightTasksAreEachCommittedOnce() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let (commitsBefore, writesBefore) = (store.recorder!.commits, store.recorder!.writes)
            let failures = Box(0)
            // Eight writers at once on a pool of as many threads as cores, each writing as an
            // operator's request is written: fsynced, with its audit row.
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask { [job, logical] in
                        for index in 0..<125 {
                            let audit = AuditEntry(uid: 0, user: "root", pid: 1, request: "{}", reason: nil, result: "accepted")
                            do {
                                _ = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual, reason: "\(worker)-\(index)"),
                                                            owner: .current, at: Date(), audit: audit)
                            } catch {
                                failures.value.withLock { $0 += 1 }
                            }
                        }
                    }
                }
            }
            #expect(failures.value.withLock { $0 } == 0)
            let commits = store.recorder!.commits - commitsBefore
            #expect(store.recorder!.writes - writesBefore == 1_000)
            #expect(commits < 1_000, "eight writers share commits")
            let reasons = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT reason FROM run WHERE job = 'juki'")
            }
            #expect(reasons.count == 1_000)
            let written: Set<String> = Set((0..<8).flatMap { worker in (0..<125).map { "\(worker)-\($0)" } })
            #expect(Set(reasons) == written, "each write once")
            #expect(try store.audit().count == 1_000)
            #expect(try store.verifyAudit() == nil, "the chain holds across batches")
        }
    }

    @Test func writesFromManyTasksKeepEachItsOwnOutcome() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            // One run already ended: finishing it again must fail for that caller alone.
            let ended = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            try await store.finish(runID: ended.id!, outcome: .succeeded, at: Date())
            let writesBefore = store.recorder!.writes
            let refusals = Box(0)
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask { [job, logical] in
                        for index in 0..<40 {
                            if worker == 0 && index % 4 == 0 {
                                do {
                                    try await store.finish(runID: ended.id!, outcome: RunOutcome(state: .failed, message: "again"), at: Date())
                                } catch is RunState.InvalidTransition {
                                    refusals.value.withLock { $0 += 1 }
                                } catch {
                                    Issue.record("unexpected \(error)")
                                }
                                continue
                            }
                            do {
                                let run = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
                                _ = try await store.start(runID: run.id!, environment: [:], workDirectory: "/w", at: Date())
                                try await store.stepStarted(runID: run.id!, position: 0, command: ["/bin/true"], at: Date())
                                try await store.finish(runID: run.id!, outcome: .succeeded, at: Date())
                            } catch {
                                Issue.record("unexpected \(error)")
                            }
                        }
                    }
                }
            }
            #expect(refusals.value.withLock { $0 } == 10)
            let writes: Int = 10 + 4 * 310
            #expect(store.recorder!.writes - writesBefore == writes)
            #expect(store.isWritable, "a write's own failure is not the store's")
            let reader = try RunStore.openForReading(at: directory + "/renkei.db")
            let runs = try reader.history(job: "juki", limit: 1000)
            let expected: Int = 1 + 8 * 40 - 10
            #expect(runs.count == expected)
            #expect(runs.allSatisfy { $0.state == .succeeded })
            // The refused writes changed nothing of the run they tried to end again.
            #expect(try reader.detail(runID: ended.id!)?.run.errorMessage == nil)
        }
    }

    @Test func aWriteThatFailsInABatchIsRolledBackAloneTheOthersCommit() async throws {
        struct Refused: Error {}
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let outcomes = Box<[String: String]>([:])
            let release = try await holdTheRecorder(store)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Before the group waits for its writers, however the body ends.
                defer { release() }
                // Four writes in one batch: the second throws after inserting, the third breaks a constraint.
                for (queued, (name, work)) in [
                    ("first", "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('first', 1, 'start_by', 0, 0)"),
                    ("throws", "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('throws', 1, 'start_by', 0, 0)"),
                    ("constraint", "INSERT INTO step (run_id, position, name, state, command) VALUES (999999, 0, 'x', 'pending', '[]')"),
                    ("last", "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('last', 1, 'start_by', 0, 0)"),
                ].enumerated() {
                    group.addTask {
                        let outcome: String
                        do {
                            try await store.recorder!.write(fsync: false) { db in
                                try db.execute(sql: work)
                                if name == "throws" { throw Refused() }
                            }
                            outcome = "committed"
                        } catch is Refused {
                            outcome = "refused"
                        } catch let error as DatabaseError {
                            outcome = "\(error.resultCode == .SQLITE_CONSTRAINT ? "constraint" : "\(error)")"
                        } catch {
                            outcome = "\(error)"
                        }
                        outcomes.value.withLock { $0[name] = outcome }
                    }
                    try await Self.waitUntil { store.recorder!.waitingNow == queued + 1 }
                }
                let commitsBefore = store.recorder!.commits
                release()
                try await group.waitForAll()
                #expect(store.recorder!.commits == commitsBefore + 2, "the held write, then the four together")
            }
            #expect(outcomes.value.withLock { $0 } == ["first": "committed", "throws": "refused", "constraint": "constraint", "last": "committed"])
            #expect(try store.deadlineBreaches().map(\.job).sorted() == ["first", "last"])
            #expect(store.isWritable)
        }
    }

    @Test func aClosedStoreRefusesWritesWithoutWaiting() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            _ = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            store.close()
            await #expect(throws: RunStoreError.self) {
                _ = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            }
            #expect(try RunStore.openForReading(at: directory + "/renkei.db").history().count == 1)
        }
    }
}

/// A value several tasks change, under a lock.
final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}
