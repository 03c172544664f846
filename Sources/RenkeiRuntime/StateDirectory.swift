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
    /// records and output tails may hold residents' personal data.
    public func prepare() throws {
        for directory in [root, locks, root + "/work"] {
            try Self.makeDirectory(directory)
        }
    }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw StateError.cannotCreate(path, (error as NSError).localizedDescription)
        }
    }

    /// Opens the run store for writing. Runs left unfinished by a process that is gone are marked
    /// `interrupted` on the way, and the step processes they left running are stopped.
    public func openStoreForWriting(now: Date = Date()) throws -> RunStore {
        try prepare()
        let store = try RunStore.openForWriting(at: database, now: now) { leftover in
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

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): "cannot create \(path): \(reason)"
        }
    }
}
