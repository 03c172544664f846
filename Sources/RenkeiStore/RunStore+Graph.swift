import Foundation
import GRDB
import RenkeiCore

/// What `renkeictl graph` shows beside each job of a chain: how its newest run for one business
/// date went.
extension RunStore {
    /// The newest run (by id: a retry or rerun after the failure it repeats) of each job whose
    /// logical time is in that job's range and that `belongs` accepts, newest first until one is
    /// found. Jobs with no such run are not in the answer. One read, one index probe per job (by
    /// `run_by_job_and_logical_time`), so a catalog of a thousand jobs answers at once.
    ///
    /// The ranges are wide enough to cover a date in any zone; `belongs` keeps the runs whose
    /// logical date, read in the zone each run was recorded with, is the date asked about.
    public func newestRuns(_ ranges: [String: Range<Int64>], where belongs: (RunRecord) -> Bool = { _ in true }) throws -> [String: RunRecord] {
        guard !ranges.isEmpty else { return [:] }
        return try pool.read { db in
            var newest: [String: RunRecord] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT * FROM run INDEXED BY run_by_job_and_logical_time
                WHERE job = ? AND logical_time >= ? AND logical_time < ? ORDER BY id DESC
                """)
            for (job, range) in ranges {
                let runs = try RunRecord.fetchCursor(statement, arguments: [job, range.lowerBound, range.upperBound])
                while let run = try runs.next() {
                    if belongs(run) {
                        newest[job] = run
                        break
                    }
                }
            }
            return newest
        }
    }
}
