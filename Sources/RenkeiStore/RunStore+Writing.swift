import Foundation
import GRDB
import RenkeiCore

/// What is known about a run before it starts.
public struct NewRun: Sendable {
    public var job: Job
    public var logicalTime: LogicalTime
    public var trigger: Trigger
    public var attempt: Int
    public var parameters: [String: String]
    public var requestedByUid: Int64?
    public var requestedByUser: String?
    public var reason: String?
    public var rerunOf: Int64?
    public var retryOf: Int64?
    /// The state each step's row starts in: `pending`, or `reused`/`not_run` for steps a rerun skips.
    public var stepStates: [StepState]?
    /// Set: the run is recorded `waiting` (for its upstreams, or the reruns before it in a
    /// `rerun --downstream` plan), with this message, instead of `queued`.
    public var waitingFor: String?

    public init(job: Job, logicalTime: LogicalTime, trigger: Trigger, attempt: Int = 1, parameters: [String: String] = [:],
                requestedByUid: Int64? = nil, requestedByUser: String? = nil, reason: String? = nil,
                rerunOf: Int64? = nil, retryOf: Int64? = nil, stepStates: [StepState]? = nil) {
        self.job = job
        self.logicalTime = logicalTime
        self.trigger = trigger
        self.attempt = attempt
        self.parameters = parameters
        self.requestedByUid = requestedByUid
        self.requestedByUser = requestedByUser
        self.reason = reason
        self.rerunOf = rerunOf
        self.retryOf = retryOf
        self.stepStates = stepStates
    }
}

/// How one step ended, to be recorded.
public struct StepEnd: Sendable {
    public var termination: StepTermination
    public var finishedAt: Date
    public var stdoutTail: OutputTail
    public var stderrTail: OutputTail
    /// The files a built-in step received or delivered, recorded in the same transaction.
    public var files: [LinkFile]

    public init(termination: StepTermination, finishedAt: Date, stdoutTail: OutputTail, stderrTail: OutputTail, files: [LinkFile] = []) {
        self.termination = termination
        self.finishedAt = finishedAt
        self.stdoutTail = stdoutTail
        self.stderrTail = stderrTail
        self.files = files
    }
}

extension RunStore {
    /// Records a new run as `queued`, owned by `owner`, with a `pending` row for each step. The id
    /// it gets names the work directory, so the environment is filled in by `start`.
    ///
    /// An operator's request (`audit`) is chained in the same transaction, fsynced: the run and
    /// the record of who asked for it exist together or not at all, before the operator hears
    /// "queued". Without one it is not fsynced on its own: a step's process waits for
    /// `stepStarted`'s fsync, a run that cannot start for `finish`'s.
    public func enqueue(_ new: NewRun, owner: ProcessIdentity, at now: Date, audit: AuditEntry? = nil) async throws -> RunRecord {
        let key = auditSeal.key
        let (run, auditRow) = try await write(audit == nil && new.waitingFor == nil ? .processCrash : .powerCut) { db in
            var run = RunRecord(
                id: nil, job: new.job.name.rawValue, logicalTime: new.logicalTime.epochSeconds,
                logicalZone: new.logicalTime.zoneIdentifier, trigger: new.trigger, attempt: new.attempt, state: .queued,
                definitionHash: new.job.definitionHash, environment: "{}", parameters: JSON.encode(new.parameters),
                requestedByUid: new.requestedByUid, requestedByUser: new.requestedByUser, reason: new.reason,
                rerunOf: new.rerunOf, retryOf: new.retryOf, queuedAt: now, errorMessage: new.waitingFor, owner: owner.description
            )
            if new.waitingFor != nil { run.state = .waiting }
            try run.insertRow(db)
            for (position, step) in new.job.steps.enumerated() {
                let state = new.stepStates?[position] ?? .pending
                try StepRecord(runId: run.id!, position: position, name: step.name, state: state, command: step.command.arguments).insertRow(db)
            }
            let auditRow = try audit.map { try Self.append($0, runID: run.id, at: now, key: key, db) }
            return (run, auditRow)
        }
        if let auditRow { auditSeal.appended(auditRow) }
        return run
    }

    /// Moves a queued run to `running` with the environment and work directory it runs with.
    public func start(runID: Int64, environment: [String: String], workDirectory: String, at now: Date) async throws -> RunRecord {
        try await write(.processCrash) { db in
            var run = try Self.fetchRun(db, runID)
            try Self.transition(&run, .start)
            run.startedAt = now
            run.environment = JSON.encode(RunEnvironment.redactingSecrets(environment))
            run.workDirectory = workDirectory
            // Only what changed (SQLite then rewrites only the indexes over these columns), with a
            // prepared statement: this is on every run's path.
            // A run that waited for its upstreams loses its "waiting for …" message as it starts.
            run.errorMessage = nil
            try db.cachedStatement(sql: "UPDATE run SET state = ?, started_at = ?, environment = ?, work_directory = ?, error_message = NULL WHERE id = ?")
                .execute(arguments: [run.state.rawValue, now, run.environment, workDirectory, runID])
            return run
        }
    }

    /// Marks one step `running` with the argv it is about to run, before its process is spawned;
    /// fsynced, so that whatever the process does to a target system is never unrecorded.
    public func stepStarted(runID: Int64, position: Int, command: [String], at now: Date) async throws {
        try await write(.powerCut) { db in
            try db.cachedStatement(sql: "UPDATE step SET state = ?, command = ?, started_at = ? WHERE run_id = ? AND position = ?")
                .execute(arguments: [StepState.running.rawValue, JSON.encode(command), now, runID, position])
        }
    }

    /// Records the pid of a step's process (the leader of its process group) once it exists. Returns
    /// at once, for the executor's synchronous start callback: the row is committed with the next
    /// batch, before any later write of the run. The process is identified now, while it surely runs.
    public func stepSpawned(runID: Int64, position: Int, pid: Int32) {
        let process = ProcessIdentity.of(pid)?.description
        submit(.processCrash) { db in
            try db.execute(sql: "UPDATE step SET pid = ?, process = ? WHERE run_id = ? AND position = ?", arguments: [pid, process, runID, position])
        }
    }

    /// Records how a step ended, with its output tails; fsynced with the next step's start or the
    /// run's end, whichever comes first.
    public func stepFinished(runID: Int64, position: Int, end: StepEnd) async throws {
        try await write(.processCrash) { db in
            let outcome = RunOutcome.decide([("", end.termination)])
            try db.cachedStatement(sql: """
                UPDATE step SET state = ?, finished_at = ?, exit_status = ?, signal = ?, error_class = ?, message = ?,
                    stdout_tail = ?, stderr_tail = ?, stdout_bytes = ?, stderr_bytes = ?, started_at = coalesce(started_at, ?)
                WHERE run_id = ? AND position = ?
                """).execute(arguments: [
                    StepState(outcome.state).rawValue, end.finishedAt, outcome.exitStatus ?? (end.termination == .exited(0) ? 0 : nil),
                    outcome.signal, outcome.errorClass?.rawValue, end.termination.succeeded ? nil : end.termination.summary,
                    Data(end.stdoutTail.bytes), Data(end.stderrTail.bytes), Int64(end.stdoutTail.totalBytes), Int64(end.stderrTail.totalBytes),
                    end.finishedAt, runID, position,
                ])
            if !end.files.isEmpty { try Self.insertFiles(end.files, runID: runID, position: position, finishedAt: end.finishedAt, db) }
        }
    }

    /// Records the end of a run; steps still `pending` become `not_run`. Returns the final row.
    @discardableResult
    public func finish(runID: Int64, outcome: RunOutcome, at now: Date) async throws -> RunRecord {
        try await write(.powerCut) { db in
            var run = try Self.fetchRun(db, runID)
            if run.state == .queued && outcome.state == .cancelled {
                try Self.transition(&run, .cancel)
            } else {
                if run.state == .queued { try Self.transition(&run, .start) }
                try Self.transition(&run, .finish(outcome.state))
            }
            run.finishedAt = now
            run.errorClass = outcome.errorClass
            run.errorMessage = outcome.message
            run.failedStep = outcome.failedStep
            run.exitStatus = outcome.exitStatus
            run.signal = outcome.signal
            run.owner = nil
            try db.cachedStatement(sql: """
                UPDATE run SET state = ?, started_at = ?, finished_at = ?, error_class = ?, error_message = ?, failed_step = ?,
                    exit_status = ?, signal = ?, owner = NULL
                WHERE id = ?
                """).execute(arguments: [run.state.rawValue, run.startedAt, now, run.errorClass?.rawValue, run.errorMessage, run.failedStep,
                                       run.exitStatus, run.signal, runID])
            try db.cachedStatement(sql: "UPDATE step SET state = 'not_run' WHERE run_id = ? AND state = 'pending'").execute(arguments: [runID])
            // A success resolves every open failure of the same job and logical time: the failed
            // attempts a retry recovered, and the runs a rerun repeated.
            if run.state == .succeeded {
                try db.execute(sql: """
                    UPDATE run SET resolved_by = ?, resolved_at = ?
                    WHERE job = ? AND logical_time = ? AND state IN ('failed', 'timed_out', 'interrupted') AND resolved_by IS NULL AND id != ?
                    """, arguments: [runID, now, run.job, run.logicalTime, runID])
            }
            return run
        }
    }

    /// Records a queued run that never started as `cancelled` (an operator cancelled it, or the
    /// job's lock was held).
    public func cancelQueued(runID: Int64, message: String, at now: Date) async throws {
        _ = try await finish(runID: runID, outcome: RunOutcome(state: .cancelled, message: message), at: now)
    }

    /// Marks unfinished runs whose owner process is gone as `interrupted`: the process was killed,
    /// crashed or the machine lost power while they ran. Returns the runs it marked, each with
    /// the step processes of it that still run (orphans of the dead owner).
    @discardableResult
    public func markAbandonedRunsInterrupted(now: Date) async throws -> [InterruptedRun] {
        try await write(.powerCut) { db in try Self.markAbandonedRunsInterrupted(db, now: now) }
    }

    static func markAbandonedRunsInterrupted(_ db: Database, now: Date) throws -> [InterruptedRun] {
        let unfinished = try RunRecord.filter(sql: "state IN ('queued', 'running')").fetchAll(db)
        var marked: [InterruptedRun] = []
        for var run in unfinished {
            let owner = run.owner.flatMap(ProcessIdentity.init)
            if let owner, owner.isAlive { continue }
            let wasRunning = run.state == .running
            try Self.transition(&run, .interrupt)
            run.finishedAt = now
            run.errorClass = .interrupted
            let who = owner.map { "the process that ran it (pid \($0.pid))" } ?? "the process that ran it"
            run.errorMessage = wasRunning
                ? "\(who) stopped while the run was running (killed, crashed or the machine went down); check the target system, then rerun it"
                : "\(who) stopped before the run started"
            run.failedStep = try String.fetchOne(db, sql: "SELECT name FROM step WHERE run_id = ? AND state = 'running' ORDER BY position LIMIT 1", arguments: [run.id])
            let leftovers = try String.fetchAll(db, sql: "SELECT process FROM step WHERE run_id = ? AND state = 'running' AND process IS NOT NULL", arguments: [run.id])
                .compactMap(ProcessIdentity.init).filter(\.isAlive)
            run.owner = nil
            try run.update(db)
            try db.execute(sql: """
                UPDATE step SET state = 'interrupted', error_class = 'interrupted', finished_at = ?,
                    message = 'interrupted: the process that ran it stopped'
                WHERE run_id = ? AND state = 'running'
                """, arguments: [now, run.id])
            try db.execute(sql: "UPDATE step SET state = 'not_run' WHERE run_id = ? AND state = 'pending'", arguments: [run.id])
            marked.append(InterruptedRun(run: run, leftoverProcesses: leftovers))
        }
        return marked
    }

    /// A slot that was not run: `skipped` (overlap, closed day, lock held) or `missed` (daemon
    /// down, store unwritable). `errorClass` says why a slot was missed (default `missed`).
    public struct SlotRow: Sendable {
        public var job: Job
        public var logicalTime: LogicalTime
        public var state: RunState
        public var reason: String
        public var errorClass: ErrorClass?

        public init(job: Job, logicalTime: LogicalTime, state: RunState, reason: String, errorClass: ErrorClass? = nil) {
            precondition(state == .skipped || state == .missed)
            self.job = job
            self.logicalTime = logicalTime
            self.state = state
            self.reason = reason
            self.errorClass = errorClass
        }
    }

    /// Records a slot that was not run. Its row is final at once; `reason` says why, for the operator.
    @discardableResult
    public func recordSlot(job: Job, logicalTime: LogicalTime, state: RunState, reason: String, errorClass: ErrorClass? = nil,
                           at now: Date) async throws -> RunRecord {
        try await recordSlots([SlotRow(job: job, logicalTime: logicalTime, state: state, reason: reason, errorClass: errorClass)], at: now)[0]
    }

    /// Records slots that were not run, in one write: a loaded daemon skips thousands a second.
    /// `skipped` rows alone are as durable as a process crash (committed, fsynced with the next
    /// write that needs it): after a power cut a lost one is found again as `missed`.
    @discardableResult
    public func recordSlots(_ slots: [SlotRow], at now: Date) async throws -> [RunRecord] {
        let durability: Durability = slots.allSatisfy { $0.state == .skipped } ? .processCrash : .powerCut
        return try await write(durability) { db in
            try slots.map { slot in
                var run = RunRecord(
                    id: nil, job: slot.job.name.rawValue, logicalTime: slot.logicalTime.epochSeconds, logicalZone: slot.logicalTime.zoneIdentifier,
                    trigger: .schedule, attempt: 1, state: slot.state, definitionHash: slot.job.definitionHash, environment: "{}", parameters: "{}",
                    queuedAt: now, finishedAt: now, errorClass: slot.state == .missed ? slot.errorClass ?? .missed : nil, errorMessage: slot.reason
                )
                try run.insertRow(db)
                return run
            }
        }
    }

    /// Records that a slot's run did not start or finish by its deadline.
    public func recordDeadlineBreach(job: String, logicalTime: Int64, kind: String, deadline: Date, at now: Date) async throws {
        try await write(.powerCut) { db in
            try db.execute(sql: "INSERT INTO deadline_breach (job, logical_time, kind, deadline, recorded_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [job, logicalTime, kind, deadline, now])
        }
    }

    static func fetchRun(_ db: Database, _ runID: Int64) throws -> RunRecord {
        guard let run = try RunRecord.fetchOne(db, key: runID) else { throw RunStoreError.noSuchRun(runID) }
        return run
    }
}

/// A run found abandoned by its owner, and the step processes of it still running.
public struct InterruptedRun: Sendable {
    public var run: RunRecord
    public var leftoverProcesses: [ProcessIdentity]
}

public enum RunStoreError: Error, CustomStringConvertible {
    case noSuchRun(Int64)
    /// A write after `close()`.
    case closed

    public var description: String {
        switch self {
        case .noSuchRun(let id): "no run \(id) in the store (see 'renkeictl history')"
        case .closed: "the run store was written after it was closed"
        }
    }
}

extension StepState {
    init(_ state: RunState) {
        switch state {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .timedOut: self = .timedOut
        case .cancelled: self = .cancelled
        case .interrupted: self = .interrupted
        case .queued, .waiting, .missed, .skipped: self = .notRun
        case .running: self = .running
        }
    }
}
