import Foundation
import GRDB
import RenkeiCore

/// The rows link chains need: a slot recorded `waiting` for its upstreams, and what the jobs of
/// a chain did on recent dates (read back at start-up, so a wait survives a restart).
extension RunStore {
    /// Records a slot of `job` as `waiting` for its upstreams; `message` says for which and until
    /// when (shown by `history` and `show` while it waits). Its steps are `pending`. Fsynced: the
    /// wait must survive a power cut, or the slot would be lost.
    public func recordWaiting(_ new: NewRun, message: String, owner: ProcessIdentity, at now: Date) async throws -> RunRecord {
        var waiting = new
        waiting.waitingFor = message
        return try await enqueue(waiting, owner: owner, at: now)
    }

    /// Every run waiting for its upstreams, oldest slot first.
    public func waitingRuns() throws -> [RunRecord] {
        try pool.read { db in
            try RunRecord.fetchAll(db, sql: "SELECT * FROM run INDEXED BY run_waiting WHERE state = 'waiting' ORDER BY logical_time, id")
        }
    }

    /// Runs of `jobs` whose slot is at or after `since` and that ended (or run), oldest first:
    /// what a chain needs to know about recent dates.
    public func chainHistory(jobs: [String], since: Int64) throws -> [RunRecord] {
        guard !jobs.isEmpty else { return [] }
        return try pool.read { db in
            let marks = Array(repeating: "?", count: jobs.count).joined(separator: ", ")
            var arguments = StatementArguments(jobs)
            arguments += [since]
            return try RunRecord.fetchAll(db, sql: """
                SELECT * FROM run WHERE job IN (\(marks)) AND logical_time >= ? AND state NOT IN ('waiting', 'missed', 'skipped')
                ORDER BY logical_time, id
                """, arguments: arguments)
        }
    }
}
