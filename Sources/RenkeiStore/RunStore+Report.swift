import Foundation
import GRDB
import RenkeiCore

/// The aggregates the failure report needs, computed in SQL so a store of a million runs
/// answers in well under a second (by the `logical_time` index).
extension RunStore {
    /// The period `[since, until)` in seconds of logical time, and optionally some jobs.
    public struct ReportScope: Sendable {
        public var since: Int64
        public var until: Int64
        public var jobs: [String]

        public init(since: Int64, until: Int64, jobs: [String] = []) {
            self.since = since
            self.until = until
            self.jobs = jobs
        }

        var sql: String {
            "logical_time >= ? AND logical_time < ?" + (jobs.isEmpty ? "" : " AND job IN (\(jobs.map { _ in "?" }.joined(separator: ",")))")
        }

        var arguments: StatementArguments {
            StatementArguments([since, until] as [any DatabaseValueConvertible]) + StatementArguments(jobs)
        }
    }

    public func reportCounts(_ scope: ReportScope) throws -> [String: [RunState: Int]] {
        try pool.read { db in
            var counts: [String: [RunState: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job, state, COUNT(*) AS n FROM run WHERE \(scope.sql) GROUP BY job, state", arguments: scope.arguments) {
                guard let state = RunState(rawValue: row["state"]) else { continue }
                counts[row["job"], default: [:]][state] = row["n"]
            }
            return counts
        }
    }

    public func reportFailures(_ scope: ReportScope) throws -> [RunRecord] {
        try pool.read { db in
            try RunRecord.fetchAll(db, sql: "SELECT * FROM run WHERE \(scope.sql) AND state IN ('failed', 'timed_out', 'interrupted') ORDER BY id",
                                   arguments: scope.arguments)
        }
    }

    public func runs(ids: [Int64]) throws -> [RunRecord] {
        guard !ids.isEmpty else { return [] }
        return try pool.read { db in try RunRecord.fetchAll(db, keys: ids) }
    }

    public func reportBreaches(_ scope: ReportScope) throws -> [String: Int] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT job, COUNT(*) AS n FROM deadline_breach WHERE \(scope.sql) GROUP BY job", arguments: scope.arguments)
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["job"], $0["n"]) })
        }
    }

    /// Runs and failed runs per day, days taken at UTC offset `offset` (seconds).
    public func reportDays(_ scope: ReportScope, offset: Int64) throws -> [(day: Int64, runs: Int, failures: Int)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT (logical_time + ?) / 86400 AS day,
                       SUM(state NOT IN ('missed', 'skipped')) AS runs,
                       SUM(state IN ('failed', 'timed_out', 'interrupted')) AS failures
                FROM run WHERE \(scope.sql) GROUP BY day ORDER BY day
                """, arguments: StatementArguments([offset]) + scope.arguments).map { ($0["day"], $0["runs"], $0["failures"]) }
        }
    }

    /// The newest logical time of each job that ended in `states`.
    public func reportLast(_ scope: ReportScope, states: [RunState]) throws -> [String: Int64] {
        try pool.read { db in
            let list = states.map { "'\($0.rawValue)'" }.joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: "SELECT job, MAX(logical_time) AS t FROM run WHERE \(scope.sql) AND state IN (\(list)) GROUP BY job",
                                        arguments: scope.arguments)
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["job"], $0["t"]) })
        }
    }
}
