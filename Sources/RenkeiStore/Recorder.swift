import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The one writer of the store: group commit as a drain loop. Callers queue writes; one thread of
/// its own takes whatever is waiting, runs each write in its own savepoint of one transaction,
/// commits once — fsynced if any write of the batch must survive a power cut — and hands each
/// caller its outcome. The runs of a busy daemon (each writing its start, its steps and its end)
/// then share commits and fsyncs instead of queueing one by one behind SQLite's single writer.
///
/// A caller suspends until its write is committed, and no thread of the caller's waits meanwhile:
/// the daemon's loop runs on Swift's cooperative pool (as many threads as cores), which a caller
/// blocked on a commit would take from every other task. The wait ignores cancellation, so that a
/// run's end is recorded even when the task that ran it was cancelled. A write nobody waits for
/// (`submit`) is committed the same way, in order with the others. A write that throws is rolled
/// back alone and its caller gets the error.
/// A failure of the store itself (the disk is full, the file was replaced) fails the whole batch,
/// each caller gets it as a `StoreFailure`, and the next batch tries again from a clean state.
///
/// Before each batch the recorder checks that the path still names the file it has open
/// (`OpenedFile`); if not, it refuses that batch and every one after it.
final class Recorder: Sendable {
    /// The database; after open only this recorder writes through it (its writer connection).
    private let pool: DatabasePool
    /// The file the pool opened, checked before each batch.
    private let opened: OpenedFile
    /// Writes waiting, what the thread is doing, and what it did.
    private let state = Mutex(State())
    /// Signalled when the queue goes from empty to not, and to stop.
    private let wake = DispatchSemaphore(value: 0)
    /// Signalled by the thread as it ends.
    private let ended = DispatchSemaphore(value: 0)

    private struct State {
        /// Writes waiting for the next batch, oldest first.
        var waiting: [any QueuedWrite] = []
        /// Writes in the batch being committed now; 0 while the thread waits.
        var inBatch = 0
        /// The thread stops once `waiting` is empty.
        var stopping = false
        /// The recorder's thread, so that `stop` from inside a write does not wait for itself.
        var thread: pthread_t?
        /// Batches committed, and the writes they carried (refused ones included).
        var commits = 0
        var writes = 0
        /// Whether the last batch reached the disk.
        var health = Health.writable
    }

    /// Whether writes reach the disk.
    private enum Health {
        case writable
        /// The last batch failed; the next one tries again.
        case failing(StoreFailure)
        /// The path no longer names the open file: no batch is tried again.
        case refused(StoreFailure)

        /// After a batch: committed (`nil`) or failed.
        func after(_ failure: StoreFailure?) -> Health {
            switch (self, failure) {
            case (.refused, _): self
            case (_, nil): .writable
            case (_, let failure?): failure.needsRestart ? .refused(failure) : .failing(failure)
            }
        }

        var failure: StoreFailure? {
            switch self {
            case .writable: nil
            case .failing(let failure), .refused(let failure): failure
            }
        }
    }

    init(pool: DatabasePool, opened: OpenedFile) {
        self.pool = pool
        self.opened = opened
        let thread = Thread { [self] in drain() }
        thread.name = "renkei-recorder"
        thread.start()
    }

    // For status, tests and figures.
    var commits: Int { state.withLock { $0.commits } }
    var writes: Int { state.withLock { $0.writes } }
    var committingNow: Bool { state.withLock { $0.inBatch > 0 } }
    var waitingNow: Int { state.withLock { $0.waiting.count } }
    var lastFailure: StoreFailure? { state.withLock { $0.health.failure } }

    /// Runs `work` in the next batch and returns its result once that batch is committed: with
    /// `fsync` the commit is fsynced (`synchronous = FULL`), else only written to the WAL.
    ///
    /// The caller's task is suspended, not its thread; the recorder's thread resumes it after the
    /// commit. A write from inside a write cannot wait for itself any more: `work` is synchronous,
    /// so it cannot await another write (and a `submit` from it joins the next batch).
    func write<T: Sendable>(fsync: Bool, _ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        // Not `withTaskCancellationHandler`: a write queued is committed, whoever stopped waiting.
        try await withCheckedThrowingContinuation { continuation in
            do {
                try queue(PendingWrite(fsync: fsync, work: work, continuation: continuation))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues `work` for the next batch and returns at once. Nobody hears how it ended: a failure
    /// of the store shows in `lastFailure` as any batch's does, a failure of the write alone is
    /// dropped, and after `stop` the write is dropped.
    func submit(fsync: Bool, _ work: @escaping @Sendable (Database) throws -> Void) {
        try? queue(SubmittedWrite(fsync: fsync, work: work))
    }

    private func queue(_ write: any QueuedWrite) throws {
        let wakeUp = try state.withLock { state in
            guard !state.stopping else { throw RunStoreError.closed }
            state.waiting.append(write)
            return state.waiting.count == 1
        }
        if wakeUp { wake.signal() }
    }

    /// Commits what is waiting, then ends the thread; returns once it has ended (at once when
    /// called from a write, which the thread is running).
    func stop() {
        let (running, onTheThread) = state.withLock { state in
            defer { state.stopping = true }
            return (!state.stopping, state.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false)
        }
        guard running else { return }
        wake.signal()
        if !onTheThread { ended.wait() }
    }

    // MARK: - The recorder's thread

    /// Where the writer connection stands between batches; known only to the recorder's thread.
    private struct Writer {
        /// The `synchronous` setting of the connection, so that it changes only when a batch needs another.
        var fsyncing: Bool?
    }

    private func drain() {
        state.withLock { $0.thread = pthread_self() }
        var writer = Writer()
        while true {
            let next: [any QueuedWrite]? = state.withLock { state in
                if state.waiting.isEmpty { return state.stopping ? nil : [] }
                let batch = state.waiting
                state.waiting.removeAll(keepingCapacity: true)
                state.inBatch = batch.count
                return batch
            }
            guard let batch = next else { break }
            if batch.isEmpty {
                wake.wait()
                continue
            }
            let outcomes = commit(batch, &writer)
            state.withLock { state in
                state.inBatch = 0
                switch outcomes {
                case .committed:
                    state.commits += 1
                    state.writes += batch.count
                    state.health = state.health.after(nil)
                case .failed(let failure as StoreFailure):
                    state.health = state.health.after(failure)
                case .failed:
                    // Not the store's failure (another process held the lock, say): health unknown, unchanged.
                    break
                }
            }
            // Counted before the callers go on, so that one who returns sees its commit counted.
            for (index, write) in batch.enumerated() {
                switch outcomes {
                case .committed(let errors): write.settle(errors[index])
                case .failed(let error): write.settle(error)
                }
            }
        }
        ended.signal()
    }

    private enum BatchOutcome {
        /// The batch committed; each write's own error, if it threw (and was rolled back alone).
        case committed([(any Error)?])
        /// Nothing of the batch was written.
        case failed(any Error)
    }

    private func commit(_ batch: [any QueuedWrite], _ writer: inout Writer) -> BatchOutcome {
        if case .refused(let failure) = state.withLock({ $0.health }) { return .failed(failure) }
        let check = opened.check()
        if let failure = opened.failure(check) {
            if failure.needsRestart { emptyTheWAL() }
            return .failed(failure)
        }
        let fsync = batch.contains(where: \.fsync)
        var errors: [(any Error)?] = Array(repeating: nil, count: batch.count)
        do {
            try pool.writeWithoutTransaction { db in
                do {
                    if writer.fsyncing != fsync {
                        try db.execute(sql: fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                        writer.fsyncing = fsync
                    }
                    try db.beginTransaction(.immediate)
                    for (index, write) in batch.enumerated() {
                        // Savepoints by hand, so that the errno of a failure is read before a
                        // rollback can change it.
                        try db.execute(sql: "SAVEPOINT write")
                        do {
                            try write.perform(db)
                            try db.execute(sql: "RELEASE SAVEPOINT write")
                        } catch {
                            // The store failed under this write (SQLite may have rolled the whole
                            // transaction back): the batch fails. Else the write failed alone.
                            if let failure = storeFailure(error, errno, db) { throw failure }
                            if !db.isInsideTransaction { throw error }
                            try db.execute(sql: "ROLLBACK TO SAVEPOINT write")
                            try db.execute(sql: "RELEASE SAVEPOINT write")
                            errors[index] = error
                        }
                    }
                    try db.commit()
                } catch {
                    let failure = storeFailure(error, errno, db)
                    // SQLite may have rolled back already; GRDB's rollback then does nothing.
                    try? db.rollback()
                    throw failure ?? error
                }
            }
        } catch {
            return .failed(error)
        }
        return .committed(errors)
    }

    /// What `error` means for the store. `threadErrno` is the `errno` right after the failure:
    /// SQLite runs on this thread, and its own record (`sqlite3_system_errno`) is left unset on
    /// the commonest path (a failed `COMMIT`).
    private func storeFailure(_ error: any Error, _ threadErrno: Int32, _ db: Database) -> StoreFailure? {
        let systemErrno = threadErrno != 0 ? threadErrno : sqlite3_system_errno(db.sqliteConnection)
        return StoreFailure.classifying(error, systemErrno: systemErrno, path: opened.path)
    }

    /// The path no longer names the open file. What the WAL holds goes into the open file (complete
    /// where it was moved to, gone with it if deleted), and the WAL is emptied: SQLite finds the WAL
    /// by name, and the next process to open the file at the path would otherwise read this
    /// database's last commits over it. Nothing new is written.
    private func emptyTheWAL() {
        try? pool.writeWithoutTransaction { db in
            var persist: Int32 = 1
            // Closing the store must not then delete, by name, a WAL that is not this one's.
            _ = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }
}

/// One write while it waits for its batch.
private protocol QueuedWrite: Sendable {
    /// The caller needs the commit fsynced.
    var fsync: Bool { get }
    /// Runs the write in the batch's transaction, keeping its result for the caller.
    func perform(_ db: Database) throws
    /// Ends the wait: with `error`, else with what `perform` produced. Called once, by the
    /// recorder's thread, after the batch's commit or rollback.
    func settle(_ error: (any Error)?)
}

/// A write whose caller awaits it (`Recorder.write`).
private final class PendingWrite<T: Sendable>: QueuedWrite {
    let fsync: Bool
    private let work: @Sendable (Database) throws -> T
    /// What `perform` produced, handed over once the batch is committed.
    private let result = Mutex<T?>(nil)
    /// The caller's suspended task.
    private let continuation: CheckedContinuation<T, any Error>

    init(fsync: Bool, work: @escaping @Sendable (Database) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.fsync = fsync
        self.work = work
        self.continuation = continuation
    }

    func perform(_ db: Database) throws {
        let value = try work(db)
        result.withLock { $0 = value }
    }

    func settle(_ error: (any Error)?) {
        if let error {
            continuation.resume(throwing: error)
        } else {
            continuation.resume(returning: result.withLock { $0.take()! })
        }
    }
}

/// A write nobody waits for (`Recorder.submit`).
private final class SubmittedWrite: QueuedWrite {
    let fsync: Bool
    private let work: @Sendable (Database) throws -> Void

    init(fsync: Bool, work: @escaping @Sendable (Database) throws -> Void) {
        self.fsync = fsync
        self.work = work
    }

    func perform(_ db: Database) throws { try work(db) }

    func settle(_ error: (any Error)?) {}
}
