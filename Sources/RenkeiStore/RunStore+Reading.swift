import Foundation
import GRDB
import RenkeiCore

/// A run with its steps and the files they received and delivered, as `show` prints it.
public struct RunDetail: Sendable {
    public var run: RunRecord
    public var steps: [StepRecord]
    public var files: [FileRecord] = []

    /// For a store other than SQLite (PostgreSQL) that reads the same rows.
    public init(run: RunRecord, steps: [StepRecord], files: [FileRecord] = []) {
        self.run = run
        self.steps = steps
        self.files = files
    }
}

extension RunStore {
    /// Runs newest first, of one job or all, queued at or after `since`.
    public func history(job: String? = nil, since: Date? = nil, limit: Int = 50) throws -> [RunRecord] {
        try pool.read { db in
            var request = RunRecord.all()
            if let job { request = request.filter(Column("job") == job) }
            if let since { request = request.filter(Column("queued_at") >= since) }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    /// The newest slot the ledger has for `job` (seconds since the epoch): scheduled, caught-up,
    /// retried, skipped or missed. Manual runs and reruns are not slots.
    public func lastSlot(job: String) throws -> Int64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(logical_time) FROM run WHERE job = ? AND trigger IN ('schedule', 'catch-up', 'retry')", arguments: [job])
        }
    }

    /// Failed attempts of `job` that finished since `since` and have no next attempt recorded:
    /// the retries a stopped or crashed daemon still owed.
    public func failuresAwaitingRetry(job: String, since: Date) throws -> [RunRecord] {
        try pool.read { db in
            try RunRecord.fetchAll(db, sql: """
                SELECT * FROM run AS failed
                WHERE job = ? AND state IN ('failed', 'timed_out', 'interrupted') AND trigger IN ('schedule', 'catch-up', 'retry')
                  AND finished_at >= ?
                  AND NOT EXISTS (SELECT 1 FROM run AS next WHERE next.job = failed.job AND next.logical_time = failed.logical_time
                                  AND next.attempt > failed.attempt)
                ORDER BY logical_time
                """, arguments: [job, since])
        }
    }

    /// Failed runs nobody has fixed yet — the newest failed attempt of each job and logical time
    /// with no success since — oldest first.
    public func unresolvedFailures(job: String? = nil, since: Date? = nil, until: Date? = nil) throws -> [RunRecord] {
        try pool.read { db in
            try RunRecord.fetchAll(db, sql: """
                SELECT * FROM run AS failed
                WHERE state IN ('failed', 'timed_out', 'interrupted') AND resolved_by IS NULL
                  AND (? IS NULL OR job = ?) AND (? IS NULL OR queued_at >= ?) AND (? IS NULL OR queued_at < ?)
                  AND NOT EXISTS (SELECT 1 FROM run AS later WHERE later.job = failed.job AND later.logical_time = failed.logical_time
                                  AND later.id > failed.id AND later.state IN ('failed', 'timed_out', 'interrupted', 'succeeded', 'running', 'queued'))
                ORDER BY logical_time, id
                """, arguments: [job, job, since, since, until, until])
        }
    }

    /// Deadline breaches recorded for `job` (or all), newest first: (logical time, kind).
    public func deadlineBreaches(job: String? = nil) throws -> [(job: String, logicalTime: Int64, kind: String)] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT job, logical_time, kind FROM deadline_breach WHERE ? IS NULL OR job = ? ORDER BY id DESC", arguments: [job, job])
            return rows.map { ($0["job"], $0["logical_time"], $0["kind"]) }
        }
    }

    /// One run and its steps in order, or nil.
    public func detail(runID: Int64) throws -> RunDetail? {
        try pool.read { db in
            guard let run = try RunRecord.fetchOne(db, key: runID) else { return nil }
            let steps = try StepRecord.filter(Column("run_id") == runID).order(Column("position")).fetchAll(db)
            let files = try FileRecord.fetchAll(db, sql: "SELECT * FROM file WHERE run_id = ? ORDER BY position, id", arguments: [runID])
            return RunDetail(run: run, steps: steps, files: files)
        }
    }
}
