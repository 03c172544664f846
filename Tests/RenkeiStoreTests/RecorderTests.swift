import Foundation
import GRDB
import Synchronization
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// The drain loop: every write committed once, in batches of whatever was waiting, each write
/// with its own outcome.
@Suite struct RecorderTests {
    private let job = Job(name: JobName("juki")!, steps: [Step(name: "export", command: .argv(["/bin/true"]))], definitionHash: "abc")
    private let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")

    /// Holds the recorder's thread inside a batch until `release` is called.
    private func holdTheRecorder(_ store: RunStore) -> @Sendable () -> Void {
        let release = DispatchSemaphore(value: 0)
        Thread {
            _ = try? store.recorder!.write(fsync: true) { _ in release.wait() }
        }.start()
        while !store.recorder!.committingNow { usleep(1_000) }
        return { release.signal() }
    }

    /// Starts `write` on a thread of its own and returns once it waits in the recorder's queue.
    private func queue(_ store: RunStore, _ done: DispatchGroup, _ write: @escaping @Sendable () -> Void) {
        let before = store.recorder!.waitingNow
        done.enter()
        Thread {
            write()
            done.leave()
        }.start()
        while store.recorder!.waitingNow == before { usleep(1_000) }
    }

    @Test func writesThatArriveDuringABatchAreCommittedTogetherInTheNext() throws {
        try Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let release = holdTheRecorder(store)
            let done = DispatchGroup()
            for _ in 0..<7 {
                queue(store, done) { [job, logical] in
                    _ = try? store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
                }
            }
            #expect(store.recorder!.waitingNow == 7)
            let commitsBefore = store.recorder!.commits
            release()
            done.wait()
            #expect(store.recorder!.commits == commitsBefore + 2, "the held write, then the seven together")
            #expect(try store.history(job: "juki").count == 7)
        }
    }

    @Test func aThousandWritesFromEightThreadsAreEachCommittedOnce() throws {
        try Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let (commitsBefore, writesBefore) = (store.recorder!.commits, store.recorder!.writes)
            let failures = Box(0)
            // Eight threads of their own (`concurrentPerform` would run only as many as there are
            // cores), each writing as an operator's request is written: fsynced, with its audit row.
            let done = DispatchGroup()
            for worker in 0..<8 {
                done.enter()
                Thread { [job, logical] in
                    for index in 0..<125 {
                        let audit = AuditEntry(uid: 0, user: "root", pid: 1, request: "{}", reason: nil, result: "accepted")
                        do {
                            _ = try store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual, reason: "\(worker)-\(index)"),
                                                  owner: .current, at: Date(), audit: audit)
                        } catch {
                            failures.value.withLock { $0 += 1 }
                        }
                    }
                    done.leave()
                }.start()
            }
            done.wait()
            #expect(failures.value.withLock { $0 } == 0)
            let commits = store.recorder!.commits - commitsBefore
            #expect(store.recorder!.writes - writesBefore == 1_000)
            #expect(commits < 1_000, "eight writers share commits")
            let reasons = try store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT reason FROM run WHERE job = 'juki'")
            }
            #expect(reasons.count == 1_000)
            #expect(Set(reasons) == Set((0..<8).flatMap { worker in (0..<125).map { "\(worker)-\($0)" } }), "each write once")
            #expect(try store.audit().count == 1_000)
            #expect(try store.verifyAudit() == nil, "the chain holds across batches")
        }
    }

    @Test func writesFromManyThreadsKeepEachItsOwnOutcome() throws {
        try Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            // One run already ended: finishing it again must fail for that caller alone.
            let ended = try store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            try store.finish(runID: ended.id!, outcome: .succeeded, at: Date())
            let writesBefore = store.recorder!.writes
            let refusals = Box(0)
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for index in 0..<40 {
                    if worker == 0 && index % 4 == 0 {
                        do {
                            try store.finish(runID: ended.id!, outcome: RunOutcome(state: .failed, message: "again"), at: Date())
                        } catch is RunState.InvalidTransition {
                            refusals.value.withLock { $0 += 1 }
                        } catch {
                            Issue.record("unexpected \(error)")
                        }
                        continue
                    }
                    do {
                        let run = try store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
                        _ = try store.start(runID: run.id!, environment: [:], workDirectory: "/w", at: Date())
                        try store.stepStarted(runID: run.id!, position: 0, command: ["/bin/true"], at: Date())
                        try store.finish(runID: run.id!, outcome: .succeeded, at: Date())
                    } catch {
                        Issue.record("unexpected \(error)")
                    }
                }
            }
            #expect(refusals.value.withLock { $0 } == 10)
            #expect(store.recorder!.writes - writesBefore == 10 + 4 * 310)
            #expect(store.isWritable, "a write's own failure is not the store's")
            let reader = try RunStore.openForReading(at: directory + "/renkei.db")
            let runs = try reader.history(job: "juki", limit: 1000)
            #expect(runs.count == 1 + 8 * 40 - 10)
            #expect(runs.allSatisfy { $0.state == .succeeded })
            // The refused writes changed nothing of the run they tried to end again.
            #expect(try reader.detail(runID: ended.id!)?.run.errorMessage == nil)
        }
    }

    @Test func aWriteThatFailsInABatchIsRolledBackAloneTheOthersCommit() throws {
        struct Refused: Error {}
        try Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let outcomes = Box<[String: String]>([:])
            let release = holdTheRecorder(store)
            let done = DispatchGroup()
            // Four writes in one batch: the second throws after inserting, the third breaks a constraint.
            for (name, work) in [
                ("first", "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('first', 1, 'start_by', 0, 0)"),
                ("throws", "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('throws', 1, 'start_by', 0, 0)"),
                ("constraint", "INSERT INTO step (run_id, position, name, state, command) VALUES (999999, 0, 'x', 'pending', '[]')"),
                ("last", "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES ('last', 1, 'start_by', 0, 0)"),
            ] {
                queue(store, done) {
                    let outcome: String
                    do {
                        try store.recorder!.write(fsync: false) { db in
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
            }
            let commitsBefore = store.recorder!.commits
            release()
            done.wait()
            #expect(store.recorder!.commits == commitsBefore + 2, "the held write, then the four together")
            #expect(outcomes.value.withLock { $0 } == ["first": "committed", "throws": "refused", "constraint": "constraint", "last": "committed"])
            #expect(try store.deadlineBreaches().map(\.job).sorted() == ["first", "last"])
            #expect(store.isWritable)
        }
    }

    @Test func aClosedStoreRefusesWritesWithoutWaiting() throws {
        try Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            _ = try store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            store.close()
            #expect(throws: RunStoreError.self) {
                _ = try store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
            }
            #expect(try RunStore.openForReading(at: directory + "/renkei.db").history().count == 1)
        }
    }
}

/// A value several threads change, under a lock.
final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}
