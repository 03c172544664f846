import Foundation
import GRDB
import GRDBSQLite
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
/// Every write goes through the `Recorder`, which commits whatever is waiting together. Writes are
/// `async`: the caller's task waits for the commit, its thread does not (the daemon's loop must
/// never block a cooperative thread on a commit). They ignore cancellation on purpose: a write that
/// ends a run must not be skipped because the task that ran it was cancelled (GRDB's own async
/// writes throw `CancellationError` then). Reads stay synchronous: WAL readers never wait for the
/// writer.
///
/// When the disk or the database goes wrong, a write throws a `StoreFailure` naming the kind, the
/// path and what to do; the store stays usable, and the next write tries again (`probe()` is the
/// cheapest one). A store whose path no longer names the file it opened refuses every write.
public final class RunStore: Sendable {
    /// The database file.
    public let path: String
    /// Readers, and the writer connection the recorder uses.
    let pool: DatabasePool
    /// Every write goes through here; nil for a store opened for reading.
    let recorder: Recorder?
    /// Runs this open found abandoned by a dead process and marked `interrupted`.
    public let interruptedAtOpen: [InterruptedRun]
    /// How audit rows are hashed, and who hears of each (the journal).
    let auditSeal: AuditSeal
    /// For a store read in a way that may not show everything (opened `immutable` beside a `-wal`
    /// it could not read): what the reader should know. Nil otherwise.
    public let readingNote: String?

    /// What the store and its `-wal`/`-shm` files are created with.
    public static let fileMode: mode_t = 0o640

    /// Takes every permission from others on `path` if it exists, and hands it to `group` where
    /// this process may.
    ///
    /// The file is changed by its path, never opened: closing any descriptor of a file drops
    /// every POSIX lock this process holds on it, and SQLite's locks on `-shm` are what tell
    /// another process the shared memory is in use (without them, a reader truncates it under
    /// renkeid's map and renkeid dies of SIGBUS). Nor is the store created beforehand: an empty
    /// file is a rollback-journal database to a reader, whose locks then hold off the writer.
    static func makePrivate(_ path: String, group: String?) throws {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return }
        if status.st_mode & 0o777 & ~fileMode != 0 {
            guard chmod(path, status.st_mode & 0o777 & fileMode) == 0 else {
                throw OpenError.cannotOpen(path, "others can read it and it cannot be made private (\(String(cString: strerror(errno)))): fix: chmod 0640 \(path)")
            }
        }
        if let group, let entry = getgrnam(group), status.st_gid != entry.pointee.gr_gid {
            _ = lchown(path, uid_t.max, entry.pointee.gr_gid)   // allowed to root and to the group's members
        }
    }

    public enum OpenError: Error, CustomStringConvertible {
        case noDatabase(String)
        case cannotOpen(String, String)
        /// This user may not read the store: the path, and what stopped them (`ReadAccess`).
        case permissionDenied(String, String)

        public var description: String {
            switch self {
            case .noDatabase(let path):
                return "no run store at \(path): nothing has run with this state directory yet (check --state or RENKEI_STATE)"
            case .cannotOpen(let path, let reason):
                return "cannot open the run store \(path): \(reason)"
            case .permissionDenied(let path, let reason):
                return "permission denied reading the run store \(path): \(reason)"
            }
        }
    }

    private init(path: String, pool: DatabasePool, recorder: Recorder?, interruptedAtOpen: [InterruptedRun] = [], auditSeal: AuditSeal = AuditSeal(),
                 readingNote: String? = nil) {
        self.auditSeal = auditSeal
        self.path = path
        self.readingNote = readingNote
        self.pool = pool
        self.recorder = recorder
        self.interruptedAtOpen = interruptedAtOpen
    }

    deinit {
        close()
    }

    /// Opens the store for writing, creating and migrating it as needed, then marks `interrupted`
    /// every unfinished run whose owning process no longer exists, and hands each step process
    /// such a run left behind to `stopLeftover` (they must not go on writing to a target system
    /// while an operator reruns the link).
    ///
    /// The file is private whatever the umask: 0640 (group `group` when it exists), and an older
    /// store others could read is closed to them. SQLite gives later `-wal` and `-shm` files the
    /// database file's mode, so they follow.
    public static func openForWriting(at path: String, now: Date = Date(), group: String? = "renkei", auditSeal: AuditSeal = AuditSeal(),
                                      stopLeftover: (ProcessIdentity) -> Void = { _ in }) throws -> RunStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.foreignKeysEnabled = true
        let pool: DatabasePool
        let opened: OpenedFile?
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets NORMAL on the writer when it turns WAL on, after `prepareDatabase`; the
            // pool keeps that one writer connection, so setting FULL on it here lasts.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Migrations.migrator.migrate(pool)
            // SQLite created them with the umask's mode (and a -wal/-shm takes the database's):
            // 0640 whatever the umask, and an older store others could read is closed to them.
            for suffix in ["", "-wal", "-shm"] { try makePrivate(path + suffix, group: group) }
            opened = pool.writeWithoutTransaction { db in OpenedFile.of(db, path: path) }
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path, error.message ?? "\(error)")
        }
        guard let opened else {
            throw OpenError.cannotOpen(path, "the file was deleted or replaced while it was being opened")
        }
        // Before the recorder exists, on the writer connection (still `synchronous = FULL`), and
        // guarded as the recorder guards a batch: opening is synchronous, and nothing else writes yet.
        let interrupted: [InterruptedRun]
        do {
            interrupted = try pool.writeWithoutTransaction { db in
                if let failure = opened.failure(opened.check()) { throw failure }
                do {
                    var marked: [InterruptedRun] = []
                    try db.inTransaction(.immediate) {
                        marked = try markAbandonedRunsInterrupted(db, now: now)
                        return .commit
                    }
                    return marked
                } catch {
                    throw StoreFailure.classifying(error, systemErrno: sqlite3_system_errno(db.sqliteConnection), path: opened.path) ?? error
                }
            }
        } catch {
            try? pool.close()
            throw error
        }
        let recorder = Recorder(pool: pool, opened: opened)
        for run in interrupted {
            run.leftoverProcesses.forEach(stopLeftover)
        }
        return RunStore(path: path, pool: pool, recorder: recorder, interruptedAtOpen: interrupted, auditSeal: auditSeal)
    }

    /// What a write must survive.
    public enum Durability: Sendable {
        /// A power cut: the WAL is fsynced at commit (with every earlier commit).
        case powerCut
        /// A crash of any process: committed to the WAL, fsynced by the next `powerCut` write.
        case processCrash
    }

    /// One write, as durable as `durability` says, committed together with the writes of other
    /// runs that arrive meanwhile (`Recorder`); returns once it is committed.
    func write<T: Sendable>(_ durability: Durability, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        guard let recorder else {
            throw StoreFailure(.readOnly, path: path, detail: "this process opened it for reading only")
        }
        return try await recorder.write(fsync: durability == .powerCut, updates)
    }

    /// One write nobody waits for: queued for the next batch, in order with the others. A failure of
    /// the store shows in `lastFailure`; the write's own failure, or any on a store opened for
    /// reading or closed, is dropped.
    func submit(_ durability: Durability, _ updates: @escaping @Sendable (Database) throws -> Void) {
        recorder?.submit(fsync: durability == .powerCut, updates)
    }

    /// Whether the last write reached the disk: false from a `StoreFailure` until a write (or a
    /// `probe`) commits again, and for good once the path no longer names the opened file.
    public var isWritable: Bool {
        guard let recorder else { return false }
        return recorder.lastFailure == nil
    }

    /// Why the store cannot be written now, or nil.
    public var lastFailure: StoreFailure? { recorder?.lastFailure }

    /// The cheapest write that proves writes work: page 1 rewritten with the same `user_version`,
    /// committed and fsynced, after checking that the path still names the opened file. Throws the
    /// `StoreFailure` while the store cannot be written. For the daemon's retry with backoff.
    public func probe() async throws {
        try await write(.powerCut) { db in
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            try db.execute(sql: "PRAGMA user_version = \(version)")
        }
    }

    /// Commits what is waiting and closes the database. Later writes throw `RunStoreError.closed`.
    /// Happens by itself when the store is released.
    public func close() {
        recorder?.stop()
        try? pool.close()
    }

    /// Why this user cannot read the store at `path` (missing, permission), or nil: `stat` and
    /// `access` only, as `openForReading` checks before it opens.
    public static func whyUnreadable(at path: String) -> OpenError? {
        ReadAccess.problem(reading: path)
    }

    /// Opens an existing store to read (`history`, `show`, `report`); works while a daemon writes.
    ///
    /// A store this user may not reach is `OpenError.permissionDenied`, not "no run store": the
    /// file is there, the operator is not in the group that may read it. A store in a directory
    /// this process cannot write (a read-only mount, the state directory of a stopped renkeid
    /// read by an operator of its group) cannot have its `-shm` made, which SQLite's WAL reader
    /// needs: it is then opened `immutable`, and
    /// `readingNote` says what such a view may lack.
    ///
    /// Nothing here opens the database or its `-wal`/`-shm` with a descriptor of its own (`stat`
    /// and `access` only): closing one would drop the POSIX locks of this process's connections.
    public static func openForReading(at path: String) throws -> RunStore {
        if let problem = ReadAccess.problem(reading: path) { throw problem }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            // SQLite opens lazily: a missing `-shm` shows at the first read, so read once here.
            try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return RunStore(path: path, pool: pool, recorder: nil)
        } catch let error as DatabaseError where [.SQLITE_CANTOPEN, .SQLITE_READONLY].contains(error.resultCode) && ReadAccess.cannotMakeSharedMemory(for: path) {
            // CANTOPEN on a read-only mount; READONLY (CANTINIT) in a directory this user may read,
            // not write: an operator reading renkeid's 0750 state directory while renkeid is stopped.
            return try openImmutable(at: path)
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path, error.message ?? "\(error)")
        }
    }

    /// The store opened as a file nobody changes (SQLite's `immutable=1`): no `-shm`, no locks,
    /// and the `-wal` not read.
    private static func openImmutable(at path: String) throws -> RunStore {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.maximumReaderCount = 1
        let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: ReadAccess.uriPathCharacters) ?? path) + "?immutable=1"
        do {
            let pool = try DatabasePool(path: uri, configuration: configuration)
            try pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return RunStore(path: path, pool: pool, recorder: nil, readingNote: ReadAccess.immutableNote(for: path))
        } catch let error as DatabaseError {
            throw OpenError.cannotOpen(path, "its directory cannot be written, so SQLite cannot make \((path as NSString).lastPathComponent)-shm, and reading it as an unchanging file failed too: \(error.message ?? "\(error)")")
        }
    }

    /// Applies a state-machine event to a run inside the transaction that records it.
    static func transition(_ run: inout RunRecord, _ event: RunState.Event) throws {
        run.state = try run.state.applying(event)
    }
}
