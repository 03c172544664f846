import Foundation
import PostgresNIO
import RenkeiCore

/// A queued run taken by one node: the run and the claim token every later write of its owner
/// must carry. A token is never reused (`run_claim_seq`), so a node that lost the run (declared
/// dead, run given to another) writes nothing with its old token.
public struct RunClaim: Sendable, Equatable, Hashable {
    public var runID: Int64
    public var claim: Int64
}

/// Claims of queued runs by any node (memo §3, verified there with 4 claimers and 2,000 runs).
public enum RunClaims {
    /// Takes the oldest queued run that is due (`not_before <= now()`, database clock) and marks
    /// it running for `node`. Rows another claimer has locked are skipped, not waited for; nil
    /// when there is nothing to take. A node the leader has declared dead takes nothing (it has
    /// not heard yet and must register again): the reaper would never look at its new runs.
    ///
    /// A job runs once at a time across every node, as its lock file gives on one machine: a
    /// queued run of a job that is running is passed over, and two nodes racing for two runs of
    /// one job meet `run_one_running_per_job`; the loser takes nothing this time (nil).
    public static func claimNext(_ session: PostgresSession, node: UUID) async throws -> RunClaim? {
        let rows: [PostgresRow]
        do {
            rows = try await session.run("""
                WITH next AS (
                  SELECT id FROM run q WHERE state = 'queued' AND not_before <= now()
                    AND EXISTS (SELECT 1 FROM node WHERE incarnation = \(node) AND state = 'alive')
                    AND NOT EXISTS (SELECT 1 FROM run b WHERE b.job = q.job AND b.state = 'running')
                  ORDER BY logical_time, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                UPDATE run r SET state = 'running', owner_node = \(node), claim = nextval('run_claim_seq'), started_at = now()
                FROM next WHERE r.id = next.id
                RETURNING r.id, r.claim
                """, doing: "claiming a queued run")
        } catch let problem as PostgresProblem where problem.sqlState == "23505" {
            return nil
        }
        return try rows.first.map { row in
            let (id, claim) = try row.decode((Int64, Int64).self)
            return RunClaim(runID: id, claim: claim)
        }
    }

    /// Records the end of a claimed run, only while the claim is still the run's. False: the run
    /// was lost (reaped and given to another node); nothing was written, and the caller must
    /// discard its result.
    public static func finish(_ session: PostgresSession, _ claim: RunClaim, state: RunState, exitStatus: Int32?) async throws -> Bool {
        // The run state machine decides which ends a running run may have.
        let end = try RunState.running.applying(.finish(state))
        let rows = try await session.run("""
            UPDATE run SET state = \(end.rawValue), finished_at = now(), exit_status = \(exitStatus)
            WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running'
            RETURNING id
            """, doing: "recording the end of run \(claim.runID)")
        return !rows.isEmpty
    }

    /// Gives a claimed run back to the queue before any of its steps started (the node could not
    /// open the run's own connection): another node, or this one later, claims it anew. False
    /// when the claim was no longer the run's.
    public static func giveBack(_ session: PostgresSession, _ claim: RunClaim) async throws -> Bool {
        let rows = try await session.run("""
            UPDATE run SET state = 'queued', owner_node = NULL, claim = NULL, started_at = NULL
            WHERE id = \(claim.runID) AND claim = \(claim.claim) AND state = 'running'
              AND NOT EXISTS (SELECT 1 FROM step WHERE run_id = \(claim.runID) AND state NOT IN ('pending', 'not_run', 'reused', 'skipped_by_operator'))
            RETURNING id
            """, doing: "giving run \(claim.runID) back to the queue")
        return !rows.isEmpty
    }
}
