import Foundation
import GRDB
import RenkeiCore

/// What monitoring asks of the store (Prometheus' textfile, Zabbix's items): three cheap
/// aggregate reads, worked out once a minute and after each run's end.
extension RunStore {
    /// Each job's figures, for `jobs` (jobs with no run on record get empty figures).
    public func figures(jobs: [String]) throws -> [String: JobFigures] {
        var figures = Dictionary(uniqueKeysWithValues: jobs.map { ($0, JobFigures()) })
        let failureStates: Set<RunState> = [.failed, .timedOut, .interrupted]
        try pool.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT job, state, COUNT(*) AS n, MAX(finished_at) AS last FROM run GROUP BY job, state") {
                let job: String = row["job"]
                guard figures[job] != nil, let state = RunState(rawValue: row["state"]) else { continue }
                let count: Int = row["n"]
                let last = (row["last"] as Date?)?.timeIntervalSince1970
                figures[job]!.runs[state] = count
                if state == .running { figures[job]!.running = count > 0 }
                if state == .succeeded { figures[job]!.lastSuccess = last }
                if failureStates.contains(state), let last {
                    figures[job]!.lastFailure = max(figures[job]!.lastFailure ?? last, last)
                }
            }
            // SQLite takes the bare column started_at from the row that holds the MAX.
            for row in try Row.fetchAll(db, sql: """
                SELECT job, MAX(finished_at) AS finished, started_at FROM run
                WHERE started_at IS NOT NULL AND finished_at IS NOT NULL GROUP BY job
                """) {
                let job: String = row["job"]
                guard figures[job] != nil, let finished = row["finished"] as Date?, let started = row["started_at"] as Date? else { continue }
                figures[job]!.lastDuration = max(0, finished.timeIntervalSince(started))
            }
        }
        for failure in try unresolvedFailures() where figures[failure.job] != nil {
            figures[failure.job]!.unresolved += 1
        }
        return figures
    }
}

extension RunStore {
    /// The state of the newest run or slot of `job` that left the queue (running, or how it
    /// ended); nil when it has none.
    public func latestState(job: String) throws -> RunState? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM run WHERE job = ? AND state NOT IN ('queued', 'waiting') ORDER BY id DESC LIMIT 1",
                                arguments: [job]).flatMap(RunState.init(rawValue:))
        }
    }
}
