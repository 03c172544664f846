import Foundation
import GRDB
import RenkeiCore

/// A finished run whose retention has passed: its steps' output tails are cleared and its work
/// directory deleted; its row, states, error classes, byte counts and files stay.
public struct PurgeableRun: Sendable, Equatable {
    public var id: Int64
    public var job: String
    public var finishedAt: Date
    /// The work directory to delete; nil when it has none, or when a run that is kept shares it
    /// (a rerun that reused the directory of the failure it resolved).
    public var workDirectory: String?
}

extension RunStore {
    /// The runs `purge` would clear, oldest first: finished (state final, having started) before
    /// the cutoff of their job (`cutoffs`, else `defaultCutoff`), not purged yet, and not an
    /// unresolved failure. A failure is unresolved while no later run resolved it (`resolved_by`)
    /// and no later run of the same job and logical time succeeded; superseded attempts of an
    /// unresolved failure are kept too, so the whole story of a failure nobody fixed stays.
    public func purgeableRuns(defaultCutoff: Date, cutoffs: [String: Date]) throws -> [PurgeableRun] {
        try pool.read { db in try Self.purgeable(db, defaultCutoff: defaultCutoff, cutoffs: cutoffs) }
    }

    /// Clears the output tails of `runs` (empty blobs; byte counts kept) and marks them purged at
    /// `now`, in one write, skipping any that are no longer purgeable. Returns the runs purged.
    @discardableResult
    public func markPurged(_ runs: [PurgeableRun], at now: Date) async throws -> [Int64] {
        let ids = runs.map(\.id)
        return try await write(.powerCut) { db in
            var purged: [Int64] = []
            for id in ids {
                // Rechecked in the write: a run resolved meanwhile is still purgeable; nothing
                // turns a purgeable run into a kept one, but a second purge may have been first.
                try db.execute(sql: "UPDATE run SET purged_at = ? WHERE id = ? AND purged_at IS NULL", arguments: [now, id])
                guard db.changesCount > 0 else { continue }
                try db.execute(sql: "UPDATE step SET stdout_tail = x'', stderr_tail = x'' WHERE run_id = ?", arguments: [id])
                purged.append(id)
            }
            return purged
        }
    }

    /// When `purge` cleared the run's output and work directory; nil if it has not.
    public func purgedAt(runID: Int64) throws -> Date? {
        try pool.read { db in try Date.fetchOne(db, sql: "SELECT purged_at FROM run WHERE id = ?", arguments: [runID]) }
    }

    static func purgeable(_ db: Database, defaultCutoff: Date, cutoffs: [String: Date]) throws -> [PurgeableRun] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, job, finished_at, work_directory FROM run AS old
            WHERE purged_at IS NULL AND started_at IS NOT NULL AND finished_at IS NOT NULL
              AND state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted')
              AND NOT (state IN ('failed', 'timed_out', 'interrupted') AND resolved_by IS NULL
                       AND NOT EXISTS (SELECT 1 FROM run AS later WHERE later.job = old.job AND later.logical_time = old.logical_time
                                       AND later.id > old.id AND later.state = 'succeeded'))
            ORDER BY finished_at, id
            """)
        var runs: [PurgeableRun] = []
        for row in rows {
            let job: String = row["job"]
            let finishedAt: Date = row["finished_at"]
            guard finishedAt < (cutoffs[job] ?? defaultCutoff) else { continue }
            runs.append(PurgeableRun(id: row["id"], job: job, finishedAt: finishedAt, workDirectory: row["work_directory"]))
        }
        // A directory is deleted only when every run that names it goes with it.
        let leaving = Set(runs.map(\.id))
        for index in runs.indices {
            guard let directory = runs[index].workDirectory else { continue }
            let users = try Int64.fetchAll(db, sql: "SELECT id FROM run WHERE work_directory = ? AND purged_at IS NULL", arguments: [directory])
            if !users.allSatisfy(leaving.contains) { runs[index].workDirectory = nil }
        }
        return runs
    }
}
