import Foundation
import GRDB

/// Group commit: writes that arrive while one is being committed wait for it, then are committed
/// together in one transaction, with one fsync. The runs of a busy daemon (eight at once, each
/// writing its start, its steps and its end) then share fsyncs instead of queueing one by one
/// behind SQLite's single writer.
///
/// Each write keeps its own outcome: it runs in a savepoint of the shared transaction, so one that
/// throws is rolled back alone and its caller gets the error; the others commit. A caller returns
/// only once its write is committed, as durable as the most demanding write of its group.
final class GroupCommit: @unchecked Sendable {
    private let pool: DatabasePool
    private let condition = NSCondition()
    /// Writes waiting for the next group.
    private var waiting: [Write] = []
    /// A caller is committing a group now; the others wait for it.
    private var committing = false
    /// Transactions committed, and writes in them.
    private var committed = 0
    private var written = 0

    // For tests and figures.
    var commits: Int { condition.withLock { committed } }
    var writes: Int { condition.withLock { written } }
    var committingNow: Bool { condition.withLock { committing } }
    var waitingNow: Int { condition.withLock { waiting.count } }

    init(pool: DatabasePool) {
        self.pool = pool
    }

    private final class Write: @unchecked Sendable {
        let work: (Database) throws -> Void
        let fsync: Bool
        var error: (any Error)?
        var done = false

        init(fsync: Bool, work: @escaping (Database) throws -> Void) {
            self.fsync = fsync
            self.work = work
        }
    }

    /// Runs `updates` in a write transaction shared with whatever else is waiting; with `fsync`
    /// the commit is fsynced (`synchronous = FULL`), else only written to the WAL.
    func write<T>(fsync: Bool, _ updates: (Database) throws -> T) throws -> T {
        try withoutActuallyEscaping(updates) { updates in
            var result: T?
            let write = Write(fsync: fsync) { db in result = try updates(db) }
            condition.lock()
            waiting.append(write)
            while !write.done {
                if committing {
                    condition.wait()
                    continue
                }
                // Lead: commit everything waiting, this write included.
                committing = true
                let group = waiting
                waiting.removeAll()
                condition.unlock()
                commit(group)
                condition.lock()
                for member in group { member.done = true }
                committed += 1
                written += group.count
                committing = false
                condition.broadcast()
            }
            condition.unlock()
            if let error = write.error { throw error }
            return result!
        }
    }

    /// The writer's `synchronous` setting, so that it is changed only when a group needs another.
    private var fsyncing: Bool?

    private func commit(_ group: [Write]) {
        let fsync = group.contains(where: \.fsync)
        do {
            try pool.writeWithoutTransaction { db in
                if fsync != fsyncing {
                    try db.execute(sql: fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                    fsyncing = fsync
                }
                if group.count == 1 {
                    // Alone: its own transaction is its savepoint.
                    try db.inTransaction(.immediate) {
                        try group[0].work(db)
                        return .commit
                    }
                    return
                }
                try db.inTransaction(.immediate) {
                    for member in group {
                        do {
                            try db.inSavepoint {
                                try member.work(db)
                                return .commit
                            }
                        } catch {
                            member.error = error
                        }
                    }
                    return .commit
                }
            }
        } catch {
            // The commit failed (disk full, I/O error), or a lone write threw: nothing of it was written.
            for member in group where member.error == nil { member.error = error }
        }
    }
}
