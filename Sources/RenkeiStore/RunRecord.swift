import Foundation
import GRDB
import RenkeiCore

/// One row of `run`: one execution of one job for one logical time, or a slot that was not run.
public struct RunRecord: Codable, Sendable, Equatable, Identifiable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "run"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var job: String
    /// The slot served, seconds since the epoch; `logicalZone` says how to read its date.
    public var logicalTime: Int64
    public var logicalZone: String
    public var trigger: Trigger
    /// 1 for the first attempt at a logical time; retries count up.
    public var attempt: Int
    public var state: RunState
    /// SHA-256 of the job file the run was started from.
    public var definitionHash: String
    /// The environment given to the steps (JSON object), values of secret-looking names redacted.
    public var environment: String
    /// How the run was asked for (JSON object): first step, only step, and the like.
    public var parameters: String
    /// For manual runs and reruns: who asked and why.
    public var requestedByUid: Int64?
    public var requestedByUser: String?
    public var reason: String?
    /// The run this one re-runs (trigger `rerun`) or retries (trigger `retry`).
    public var rerunOf: Int64?
    public var retryOf: Int64?
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitStatus: Int32?
    public var signal: Int32?
    public var errorClass: ErrorClass?
    public var errorMessage: String?
    public var failedStep: String?
    /// For a failure: the later run that fixed it (a retry or a rerun), and when.
    public var resolvedBy: Int64?
    public var resolvedAt: Date?
    /// The process that owns the run while it is queued or running (`ProcessIdentity`).
    public var owner: String?
    /// `STATE/work/JOB/RUN_ID`, shared by the run's steps.
    public var workDirectory: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var logical: LogicalTime { LogicalTime(epochSeconds: logicalTime, zoneIdentifier: logicalZone) }
}

/// One row of `step`: how one step of one run went. Every step of the job gets a row when the run
/// starts, so `show` lists the steps that never ran too.
public struct StepRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "step"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var runId: Int64
    /// 0-based position in the job's steps.
    public var position: Int
    public var name: String
    public var state: StepState
    /// The argv as executed, `${VAR}` expanded (JSON array).
    public var command: String
    public var pid: Int32?
    /// The step's process as a `ProcessIdentity`, so leftovers of a crashed run can be found safely.
    public var process: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitStatus: Int32?
    public var signal: Int32?
    public var errorClass: ErrorClass?
    public var message: String?
    /// The last bytes of each stream (`OutputTail`), and how many bytes there were in all.
    public var stdoutTail: Data
    public var stderrTail: Data
    public var stdoutBytes: Int64
    public var stderrBytes: Int64

    /// Decoded column by column, as `RunRecord` is.
    public init(row: Row) throws {
        runId = try row.decode(forColumn: "run_id")
        position = try row.decode(forColumn: "position")
        name = try row.decode(forColumn: "name")
        state = try row.decode(forColumn: "state")
        command = try row.decode(forColumn: "command")
        pid = try row.decode(forColumn: "pid")
        process = try row.decode(forColumn: "process")
        startedAt = try row.decode(forColumn: "started_at")
        finishedAt = try row.decode(forColumn: "finished_at")
        exitStatus = try row.decode(forColumn: "exit_status")
        signal = try row.decode(forColumn: "signal")
        errorClass = try row.decode(forColumn: "error_class")
        message = try row.decode(forColumn: "message")
        stdoutTail = try row.decode(forColumn: "stdout_tail")
        stderrTail = try row.decode(forColumn: "stderr_tail")
        stdoutBytes = try row.decode(forColumn: "stdout_bytes")
        stderrBytes = try row.decode(forColumn: "stderr_bytes")
    }

    public init(runId: Int64, position: Int, name: String, state: StepState = .pending, command: [String]) {
        self.runId = runId
        self.position = position
        self.name = name
        self.state = state
        self.command = JSON.encode(command)
        stdoutTail = Data()
        stderrTail = Data()
        stdoutBytes = 0
        stderrBytes = 0
    }
}

/// Where a step is. Steps have no retries of their own: a failed step fails its run.
public enum StepState: String, Codable, Sendable, CaseIterable {
    case pending
    case running
    case succeeded
    case failed
    case timedOut = "timed_out"
    case cancelled
    case interrupted
    /// Not run because an earlier step failed, or because a rerun started after it.
    case notRun = "not_run"
    /// Not run by this run: a rerun reused the work of the run it repeats.
    case reused
    /// Not run: the operator did it by hand and reran from the next step (`rerun --from-next`).
    case skippedByOperator = "skipped_by_operator"
}

extension RunRecord {
    /// Decoded column by column, not through `Decodable` and its snake-case key conversion, which
    /// cost more than the query itself on `history`, `report` and every run's start and end.
    public init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        job = try row.decode(forColumn: "job")
        logicalTime = try row.decode(forColumn: "logical_time")
        logicalZone = try row.decode(forColumn: "logical_zone")
        trigger = try row.decode(forColumn: "trigger")
        attempt = try row.decode(forColumn: "attempt")
        state = try row.decode(forColumn: "state")
        definitionHash = try row.decode(forColumn: "definition_hash")
        environment = try row.decode(forColumn: "environment")
        parameters = try row.decode(forColumn: "parameters")
        requestedByUid = try row.decode(forColumn: "requested_by_uid")
        requestedByUser = try row.decode(forColumn: "requested_by_user")
        reason = try row.decode(forColumn: "reason")
        rerunOf = try row.decode(forColumn: "rerun_of")
        retryOf = try row.decode(forColumn: "retry_of")
        queuedAt = try row.decode(forColumn: "queued_at")
        startedAt = try row.decode(forColumn: "started_at")
        finishedAt = try row.decode(forColumn: "finished_at")
        exitStatus = try row.decode(forColumn: "exit_status")
        signal = try row.decode(forColumn: "signal")
        errorClass = try row.decode(forColumn: "error_class")
        errorMessage = try row.decode(forColumn: "error_message")
        failedStep = try row.decode(forColumn: "failed_step")
        resolvedBy = try row.decode(forColumn: "resolved_by")
        resolvedAt = try row.decode(forColumn: "resolved_at")
        owner = try row.decode(forColumn: "owner")
        workDirectory = try row.decode(forColumn: "work_directory")
    }
}

extension Trigger: DatabaseValueConvertible {}
extension RunState: DatabaseValueConvertible {}
extension ErrorClass: DatabaseValueConvertible {}
extension StepState: DatabaseValueConvertible {}

enum JSON {
    static func encode<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String) -> Value? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

extension RunRecord {
    /// Inserts the row with one prepared statement and sets `id`: not through `Encodable`, whose
    /// column-name conversion took a third of a loaded daemon's time (thousands of rows a second).
    mutating func insertRow(_ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                requested_by_uid, requested_by_user, reason, rerun_of, retry_of, queued_at, started_at, finished_at, exit_status, signal,
                error_class, error_message, failed_step, resolved_by, resolved_at, owner, work_directory)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                job, logicalTime, logicalZone, trigger.rawValue, attempt, state.rawValue, definitionHash, environment, parameters,
                requestedByUid, requestedByUser, reason, rerunOf, retryOf, queuedAt, startedAt, finishedAt, exitStatus, signal,
                errorClass?.rawValue, errorMessage, failedStep, resolvedBy, resolvedAt, owner, workDirectory,
            ])
        id = db.lastInsertedRowID
    }
}

extension StepRecord {
    /// Inserts the row with one prepared statement, as `RunRecord.insertRow` does.
    func insertRow(_ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO step (run_id, position, name, state, command, pid, process, started_at, finished_at, exit_status, signal,
                error_class, message, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                runId, position, name, state.rawValue, command, pid, process, startedAt, finishedAt, exitStatus, signal,
                errorClass?.rawValue, message, stdoutTail, stderrTail, stdoutBytes, stderrBytes,
            ])
    }
}
