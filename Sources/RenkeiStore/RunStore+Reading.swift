import Foundation
import GRDB
import RenkeiCore

/// A run with its steps, as `show` prints it.
public struct RunDetail: Sendable {
    public var run: RunRecord
    public var steps: [StepRecord]
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

    /// One run and its steps in order, or nil.
    public func detail(runID: Int64) throws -> RunDetail? {
        try pool.read { db in
            guard let run = try RunRecord.fetchOne(db, key: runID) else { return nil }
            let steps = try StepRecord.filter(Column("run_id") == runID).order(Column("position")).fetchAll(db)
            return RunDetail(run: run, steps: steps)
        }
    }
}
