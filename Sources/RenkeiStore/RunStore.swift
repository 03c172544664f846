import Foundation
import GRDB
import RenkeiCore

/// The SQLite database of runs and steps (`STATE/renkei.db`). Every state a run passes through is
/// committed here before anything else learns of it.
///
/// Durability: WAL. WAL alone already survives a `kill -9` of any process (a committed
/// transaction is in the WAL file, which the kernel keeps). A power cut is survived by fsyncing
/// the WAL at a commit (`synchronous = FULL`), which makes every earlier commit durable too; so
/// each write says what it needs (`Durability`): the writes after which something acts on the
/// world — a step's process is spawned, an outcome is reported, an operator is told "queued" —
/// are fsynced; progress in between is not, and becomes durable with the next fsynced write.
/// A lost "succeeded" row could make catch-up import a day's data twice; a lost "running" row
/// only loses a moment of progress that the next fsync would have kept.
///
/// The methods are synchronous on purpose: a write that ends a run must not be skipped because the
/// task that ran it was cancelled (GRDB's async writes throw `CancellationError` then).
public final class RunStore: Sendable {
    /// The database file.
    public let path: String
    /// Readers and the one writer.
    let pool: DatabasePool
    /// Every write goes through here.
    let writer: GroupCommit
    /// Runs this open found abandoned by a dead process and marked `interrupted`.
    public let interruptedAtOpen: [InterruptedRun]

    public enum OpenError: Error, CustomStringConvertible {
        case noDatabase(String)
        case cannotOpen(String, String)

        public var description: String {
            switch self {
            case .noDatabase(let path):
                return "no run store at \(path): nothing has run with this state directory yet (check --state or RENKEI_STATE)"
            case .cannotOpen(let path, let reason):
                return "cannot open the run store \(path): \(reason)"
            }
        }
    }

    private init(path: String, pool: DatabasePool, interruptedAtOpen: [InterruptedRun] = []) {
        self.path = path
        self.pool = pool
        writer = GroupCommit(pool: pool)
        self.interruptedAtOpen = interruptedAtOpen
    }

    /// Opens the store for writing, creating and migrating it as needed, then marks `interrupted`
    /// every unfinished run whose owning process no longer exists, and hands each step process
    /// such a run left behind to `stopLeftover` (they must not go on writing to a target system
    /// while an operator reruns the link).
    public static func openForWriting(at path: String, now: Date = Date(), stopLeftover: (ProcessIdentity) -> Void = { _ in }) throws -> RunStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.foreignKeysEnabled = true
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets NORMAL on the writer when it turns WAL on, after `prepareDatabase`; the
            // pool keeps that one writer connection, so setting FULL on it here lasts.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Migrations.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path, error.message ?? "\(error)")
        }
        let interrupted = try RunStore(path: path, pool: pool).markAbandonedRunsInterrupted(now: now)
        for run in interrupted {
            run.leftoverProcesses.forEach(stopLeftover)
        }
        return RunStore(path: path, pool: pool, interruptedAtOpen: interrupted)
    }

    /// What a write must survive.
    public enum Durability: Sendable {
        /// A power cut: the WAL is fsynced at commit (with every earlier commit).
        case powerCut
        /// A crash of any process: committed to the WAL, fsynced by the next `powerCut` write.
        case processCrash
    }

    /// One write, as durable as `durability` says, committed together with the writes of other
    /// runs that arrive meanwhile (`GroupCommit`).
    func write<T>(_ durability: Durability, _ updates: (Database) throws -> T) throws -> T {
        try writer.write(fsync: durability == .powerCut, updates)
    }

    /// Opens an existing store to read (`history`, `show`, `report`); works while a daemon writes.
    public static func openForReading(at path: String) throws -> RunStore {
        guard FileManager.default.fileExists(atPath: path) else { throw OpenError.noDatabase(path) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            return RunStore(path: path, pool: pool)
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path, error.message ?? "\(error)")
        }
    }

    /// Applies a state-machine event to a run inside the transaction that records it.
    static func transition(_ run: inout RunRecord, _ event: RunState.Event) throws {
        run.state = try run.state.applying(event)
    }
}
