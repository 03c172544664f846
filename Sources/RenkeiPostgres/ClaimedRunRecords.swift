import Foundation
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// The records of one run a node claimed (`RunClaims.claimNext`), written on PostgreSQL as the
/// SQLite store writes them on one machine (`RunRecords`), each under the run's claim: once the
/// run was taken away (the node declared dead, the run reaped), every write throws `LostClaim`
/// and changes nothing, so `Runner` starts no further step.
///
/// One connection per run: its end is a transaction, and writes of several runs at once must
/// not interleave inside it.
public struct ClaimedRunRecords: RunRecords {
    public let session: PostgresSession
    public let claim: RunClaim
    /// The job as this node loaded it: its steps for the rows of a retry, its retry policy.
    public let job: Job

    public init(session: PostgresSession, claim: RunClaim, job: Job) {
        self.session = session
        self.claim = claim
        self.job = job
    }

    /// A write refused because the run is no longer this claim's.
    public struct LostClaim: Error, CustomStringConvertible {
        public var runID: Int64
        public var description: String {
            "run \(runID) is no longer this node's (declared dead and reaped, or ended elsewhere): nothing more is written about it here"
        }
    }

    private func check(_ write: ClaimedWrite) throws {
        if write == .lostClaim { throw LostClaim(runID: claim.runID) }
    }

    public func start(runID: Int64, environment: [String: String], workDirectory: String, at now: Date) async throws -> RunRecord {
        let environmentText = RunRows.jsonText(RunEnvironment.redactingSecrets(environment))
        var binds = PostgresBindings()
        binds.append(environmentText)
        binds.append(workDirectory)
        binds.append(claim.runID)
        binds.append(claim.claim)
        let rows = try await session.run(PostgresQuery(unsafeSQL: """
            UPDATE run SET environment = $1, work_directory = $2, error_message = NULL
            WHERE id = $3 AND claim = $4 AND state = 'running'
            RETURNING \(PostgresRunReading.selected)
            """, binds: binds), doing: "recording the start of run \(claim.runID)")
        guard let row = rows.first else { throw LostClaim(runID: claim.runID) }
        return try PostgresRunReading.record(row)
    }

    public func stepStarted(runID: Int64, position: Int, command: [String], at now: Date) async throws {
        try check(try await ClaimedRunWrites.stepStarted(session, claim, position: position, command: command, at: now))
    }

    /// Written in the background, as the SQLite store batches it: the step's end waits for
    /// nothing here, and a lost claim is found by the next write.
    public func stepSpawned(runID: Int64, position: Int, pid: Int32) {
        let process = ProcessIdentity.of(pid)?.description
        let session = session, claim = claim
        Task { _ = try? await ClaimedRunWrites.stepSpawned(session, claim, position: position, pid: pid, process: process) }
    }

    public func stepFinished(runID: Int64, position: Int, end: StepEnd) async throws {
        try await session.transaction(doing: "recording the end of step \(position) of run \(runID)") {
            try check(try await ClaimedRunWrites.stepFinished(session, claim, position: position, termination: end.termination,
                                                             stdout: end.stdoutTail, stderr: end.stderrTail, at: end.finishedAt))
            // The run row is held FOR SHARE by the write above until COMMIT: still this claim's.
            try await RunFiles.insert(end.files, runID: runID, position: position, finishedAt: end.finishedAt, session)
        }
    }

    /// The run's end in one transaction: the row (only under this claim), its pending steps
    /// `not_run`, the failures a success resolves, and the next automatic attempt when the job's
    /// retry policy has one left, so a node that dies right after cannot lose the retry.
    public func finish(runID: Int64, outcome: RunOutcome, at now: Date) async throws -> RunRecord {
        let end = try RunState.running.applying(.finish(outcome.state))
        return try await session.transaction(doing: "recording the end of run \(runID)") {
            var binds = PostgresBindings()
            binds.append(end.rawValue)
            binds.append(now)
            binds.append(outcome.errorClass?.rawValue)
            binds.append(outcome.message)
            binds.append(outcome.failedStep)
            binds.append(outcome.exitStatus)
            binds.append(outcome.signal)
            binds.append(claim.runID)
            binds.append(claim.claim)
            let rows = try await session.run(PostgresQuery(unsafeSQL: """
                UPDATE run SET state = $1, finished_at = $2, error_class = $3, error_message = $4, failed_step = $5,
                  exit_status = $6, signal = $7, owner = NULL
                WHERE id = $8 AND claim = $9 AND state = 'running'
                RETURNING \(PostgresRunReading.selected)
                """, binds: binds), doing: "recording the end of run \(runID)")
            guard let row = rows.first else { throw LostClaim(runID: claim.runID) }
            let record = try PostgresRunReading.record(row)
            try await session.run("UPDATE step SET state = 'not_run' WHERE run_id = \(runID) AND state = 'pending'",
                                  doing: "recording the steps run \(runID) did not reach")
            if end == .succeeded {
                try await session.run("""
                    UPDATE run SET resolved_by = \(runID), resolved_at = \(now)
                    WHERE job = \(record.job) AND logical_time = \(record.logicalTime) AND state IN ('failed', 'timed_out', 'interrupted')
                      AND resolved_by IS NULL AND id != \(runID)
                    """, doing: "resolving the earlier failures of \(record.job) at \(record.logicalTime)")
            } else if end.isFailure {
                _ = try await RunRows.queueRetry(of: runID, policy: job.retry, steps: RunRows.Step.of(job), session)
            }
            return record
        }
    }

    public func receipts(job: String, logicalDate: String, direction: LinkFile.Direction) async throws -> [LinkRequest.Receipt] {
        try await RunFiles.receipts(job: job, logicalDate: logicalDate, direction: direction, session)
    }
}
