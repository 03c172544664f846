import Foundation
import PostgresNIO
import RenkeiCore

/// The retries the leader owes the runs it interrupted when it declared their node dead
/// (`DeadNodeReaper`): each is queued once (`run_one_retry`), as the job's retry policy allows,
/// and never before the retry grace after the declaration, by when the old copy is surely dead.
/// Looked for on every pass rather than right after the sweep, so a leader that died in between
/// leaves nothing owed: its successor finds them.
public enum ReapedRunRetries {
    /// A run owed its retry: the interrupted attempt, its job, when it was declared lost.
    public struct Owed: Sendable, Equatable {
        public var runID: Int64
        public var job: String
        public var interruptedAt: Date
    }

    /// Interrupted automatic attempts on any node, unresolved and without a retry, from the last day.
    public static func owed(_ session: PostgresSession) async throws -> [Owed] {
        let rows = try await session.run("""
            SELECT r.id, r.job, r.finished_at FROM run r
            WHERE r.state = 'interrupted' AND r.owner_node IS NOT NULL AND r.trigger IN ('schedule', 'catch-up', 'retry')
              AND r.resolved_by IS NULL AND r.finished_at > now() - interval '1 day'
              AND NOT EXISTS (SELECT 1 FROM run t WHERE t.retry_of = r.id AND t.trigger = 'retry')
            ORDER BY r.id
            """, doing: "looking for interrupted runs owed a retry")
        return try rows.map { row in
            let (id, job, at) = try row.decode((Int64, String, Date).self)
            return Owed(runID: id, job: job, interruptedAt: at)
        }
    }

    /// Queues the retry of `owed` under the leader's term, due the job's retry delay after now
    /// and never before `interruptedAt + grace`. Nil: the policy has no attempt left, or another
    /// leader queued it first.
    public static func queue(_ owed: Owed, job: Job, grace: Int64, _ session: PostgresSession, lease: LeaderLease,
                             epoch: Int64) async throws -> Fenced<Int64?> {
        try await lease.fencedWrite(session, epoch: epoch, doing: "queueing the retry of run \(owed.runID)") {
            try await RunRows.queueRetry(of: owed.runID, policy: job.retry, steps: RunRows.Step.of(job),
                                         notBefore: owed.interruptedAt.addingTimeInterval(TimeInterval(grace)), session)
        }
    }
}
