import Foundation
import PostgresNIO
import RenkeiCore

/// What a write by the owner of a claimed run came to.
public enum ClaimedWrite: Sendable, Equatable {
    case written
    /// The run is no longer this claim's (declared dead and reaped, given to another node, or
    /// already ended): nothing was written, and the owner must stop writing about it.
    case lostClaim
}

/// The writes the node that claimed a run makes while it runs it: a step's start, its process,
/// its output tails, its end, the run's error line. Each is one statement; a step's write first
/// takes the run row `FOR SHARE` where `claim` and `state = 'running'` still hold, so a reaper's
/// UPDATE of the run waits for it, and a run already taken away gives no row: nothing is written.
/// (A join in a plain UPDATE of `step` would read the run as of the statement's snapshot and
/// could write just after the reaper committed.)
///
/// Times of the record (a step's start and end) come from the node, as in the SQLite store;
/// who may write is decided by the database alone.
public enum ClaimedRunWrites {
    /// Marks step `position` running with the argv it is about to run, before it is spawned.
    public static func stepStarted(_ session: PostgresSession, _ claim: RunClaim, position: Int, command: [String],
                                   at time: Date) async throws -> ClaimedWrite {
        // Encoded as the SQLite store does (slashes unescaped), so both stores hold the same text.
        let argv = RunRows.jsonText(command)
        return try await guarded(session, claim, doing: "recording the start of step \(position) of run \(claim.runID)", """
            WITH owner AS (SELECT id FROM run WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running' FOR SHARE)
            UPDATE step s SET state = 'running', command = \(argv), started_at = \(time)
            FROM owner WHERE s.run_id = owner.id AND s.position = \(position)
            RETURNING s.run_id
            """)
    }

    /// Records the pid of the step's process (and its identity, for the reaper's check) once it exists.
    public static func stepSpawned(_ session: PostgresSession, _ claim: RunClaim, position: Int, pid: Int32,
                                   process: String?) async throws -> ClaimedWrite {
        try await guarded(session, claim, doing: "recording the process of step \(position) of run \(claim.runID)", """
            WITH owner AS (SELECT id FROM run WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running' FOR SHARE)
            UPDATE step s SET pid = \(pid), process = \(process)
            FROM owner WHERE s.run_id = owner.id AND s.position = \(position)
            RETURNING s.run_id
            """)
    }

    /// Records the output tails of a step so far (bounded by `OutputTail`), while it still runs.
    public static func outputTails(_ session: PostgresSession, _ claim: RunClaim, position: Int,
                                   stdout: OutputTail, stderr: OutputTail) async throws -> ClaimedWrite {
        try await guarded(session, claim, doing: "recording the output of step \(position) of run \(claim.runID)", """
            WITH owner AS (SELECT id FROM run WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running' FOR SHARE)
            UPDATE step s SET stdout_tail = \(Data(stdout.bytes)), stderr_tail = \(Data(stderr.bytes)),
              stdout_bytes = \(Int64(stdout.totalBytes)), stderr_bytes = \(Int64(stderr.totalBytes))
            FROM owner WHERE s.run_id = owner.id AND s.position = \(position)
            RETURNING s.run_id
            """)
    }

    /// Records how step `position` ended, with its output tails, as the SQLite store's `stepFinished` does.
    public static func stepFinished(_ session: PostgresSession, _ claim: RunClaim, position: Int, termination: StepTermination,
                                    stdout: OutputTail, stderr: OutputTail, at time: Date) async throws -> ClaimedWrite {
        let outcome = RunOutcome.decide([("", termination)])
        let exitStatus = outcome.exitStatus ?? (termination.succeeded ? 0 : nil)
        let message: String? = termination.succeeded ? nil : termination.summary
        return try await guarded(session, claim, doing: "recording the end of step \(position) of run \(claim.runID)", """
            WITH owner AS (SELECT id FROM run WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running' FOR SHARE)
            UPDATE step s SET state = \(stepState(outcome.state)), finished_at = \(time), exit_status = \(exitStatus),
              signal = \(outcome.signal), error_class = \(outcome.errorClass?.rawValue), message = \(message),
              stdout_tail = \(Data(stdout.bytes)), stderr_tail = \(Data(stderr.bytes)),
              stdout_bytes = \(Int64(stdout.totalBytes)), stderr_bytes = \(Int64(stderr.totalBytes)),
              started_at = coalesce(s.started_at, \(time))
            FROM owner WHERE s.run_id = owner.id AND s.position = \(position)
            RETURNING s.run_id
            """)
    }

    /// Records the run's error line (class, message for the operator, the step that failed)
    /// before its end is recorded with `RunClaims.finish`.
    public static func errorLine(_ session: PostgresSession, _ claim: RunClaim, errorClass: ErrorClass, message: String,
                                 failedStep: String?) async throws -> ClaimedWrite {
        try await guarded(session, claim, doing: "recording the error of run \(claim.runID)", """
            UPDATE run SET error_class = \(errorClass.rawValue), error_message = \(message), failed_step = \(failedStep)
            WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running'
            RETURNING id
            """)
    }

    /// Runs `write`, which begins with `owner`'s CTE. No row back: the claim is lost, or the
    /// step does not exist; the second is a bug in the caller and is told apart, so that it is
    /// not taken for a lost run.
    private static func guarded(_ session: PostgresSession, _ claim: RunClaim, doing: String,
                                _ write: PostgresQuery) async throws -> ClaimedWrite {
        guard try await session.run(write, doing: doing).isEmpty else { return .written }
        let stillOwned = try await session.run("""
            SELECT 1 FROM run WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running'
            """, doing: doing)
        guard stillOwned.isEmpty else {
            throw PostgresProblem(kind: .server, address: session.address.description, sqlState: nil,
                                  message: "\(doing) on \(session.address): run \(claim.runID) has no such step; nothing was written")
        }
        return .lostClaim
    }

    /// A step's state for how its run would end with it (the SQLite store's `StepState(_:)`).
    static func stepState(_ state: RunState) -> String {
        switch state {
        case .succeeded, .failed, .timedOut, .cancelled, .interrupted, .running: state.rawValue
        case .queued, .waiting, .missed, .skipped: "not_run"
        }
    }
}
