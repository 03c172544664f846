import Foundation
import RenkeiCore
import RenkeiExecutor
import RenkeiStore

/// The layout of the state directory:
///
///     STATE/renkei.db          runs and steps (SQLite, WAL)
///     STATE/work/JOB/RUN_ID/   a run's work directory, shared by its steps
///     STATE/locks/JOB.lock     held while a run of JOB runs (flock), by renkeid and renkeictl alike
public struct StateDirectory: Sendable {
    public let root: String

    /// `root` may be relative; it is made absolute, since steps run in their own work directories.
    public init(_ root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var database: String { root + "/renkei.db" }
    public var locks: String { root + "/locks" }
    public func lockFile(for job: JobName) -> String { locks + "/\(job.rawValue).lock" }
    public func workDirectory(for job: JobName, runID: Int64) -> String { root + "/work/\(job.rawValue)/\(runID)" }

    /// Creates the directories Renkei writes to, readable by the owner and its group only: run
    /// records and output tails may hold residents' personal data. A state directory that
    /// already exists open to others is refused rather than used or silently changed: whoever
    /// made it so may rely on it, and what it held may already have been read.
    public func prepare() throws {
        if let problem = FileTrust.stateDirectoryProblem(root) { throw StateError.openToOthers(problem) }
        for directory in [root, locks, root + "/work"] {
            try Self.makeDirectory(directory)
        }
    }

    /// What the state directory and every directory in it are created with, whatever the umask.
    public static let directoryMode: mode_t = 0o750

    static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: directoryMode])
        } catch {
            throw StateError.cannotCreate(path, (error as NSError).localizedDescription)
        }
        // The umask may have taken group bits the attributes asked for.
        _ = chmod(path, directoryMode)
    }

    /// Opens the run store for writing. Runs left unfinished by a process that is gone are marked
    /// `interrupted` on the way, and the step processes they left running are stopped. Audit rows
    /// are keyed with `auditKey` when there is one, and each is announced by `auditEvents`.
    ///
    /// `operatorsGroup` (renkeid's `--operators-group`) is given the state directory and the store
    /// where this process may, so that the operators it lets in may also read `history`; nil (a
    /// `renkeictl` writing locally) changes no group.
    public func openStoreForWriting(now: Date = Date(), operatorsGroup: String? = nil, auditKey: [UInt8]? = nil,
                                    auditEvents: AuditEvents? = nil) throws -> RunStore {
        try prepare()
        if let operatorsGroup, let entry = getgrnam(operatorsGroup) {
            var status = stat()
            if lstat(root, &status) == 0, status.st_mode & S_IFMT == S_IFDIR, status.st_gid != entry.pointee.gr_gid {
                _ = lchown(root, uid_t.max, entry.pointee.gr_gid)   // allowed to root and to the group's members
            }
        }
        let seal = auditEvents?.seal(key: auditKey, store: database) ?? AuditSeal(key: auditKey)
        let store = try RunStore.openForWriting(at: database, now: now, group: operatorsGroup, auditSeal: seal) { leftover in
            StepExecutor.stopAbandoned(processGroup: leftover.pid, grace: JobDuration(seconds: 5))
        }
        // Whatever else is left of those runs (a process spawned just before the crash, before its
        // pid was recorded; a grandchild that left the group) is found by its environment.
        for interrupted in store.interruptedAtOpen {
            if let workDirectory = interrupted.run.workDirectory {
                LeftoverProcesses.stop(workDirectory: workDirectory, grace: JobDuration(seconds: 5))
            }
        }
        return store
    }

    public func openStoreForReading() throws -> RunStore {
        try RunStore.openForReading(at: database)
    }
}

public enum StateError: Error, CustomStringConvertible {
    case cannotCreate(String, String)
    /// The state directory exists and others can read or enter it (`FileTrust` says how to fix it).
    case openToOthers(String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): "cannot create \(path): \(reason)"
        case .openToOthers(let problem): problem
        }
    }
}
