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

    /// Rows per job and state, and the newest logical time of each — one pass over the index.
    public func reportCounts(_ scope: ReportScope) throws -> (counts: [String: [RunState: Int]], newest: [String: [RunState: Int64]]) {
        try pool.read { db in
            var counts: [String: [RunState: Int]] = [:]
            var newest: [String: [RunState: Int64]] = [:]
            let sql = "SELECT job, state, COUNT(*) AS n, MAX(logical_time) AS t FROM run WHERE \(scope.sql) GROUP BY job, state"
            for row in try Row.fetchAll(db, sql: sql, arguments: scope.arguments) {
                guard let state = RunState(rawValue: row["state"]) else { continue }
                counts[row["job"], default: [:]][state] = row["n"]
                newest[row["job"], default: [:]][state] = row["t"]
            }
            return (counts, newest)
        }
    }

    /// The failed runs of the period, as the few facts the report needs (read column by column:
    /// thousands of failures must not cost a full record decode each).
    public func reportFailures(_ scope: ReportScope) throws -> [RunFacts] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.factColumns) FROM run WHERE \(scope.sql) AND state IN ('failed', 'timed_out', 'interrupted') ORDER BY id",
                             arguments: scope.arguments).map(Self.facts)
        }
    }

    /// The runs with these ids, as report facts.
    public func reportRuns(ids: [Int64]) throws -> [RunFacts] {
        guard !ids.isEmpty else { return [] }
        return try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.factColumns) FROM run WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                             arguments: StatementArguments(ids)).map(Self.facts)
        }
    }

    static let factColumns = "id, job, logical_time, logical_zone, trigger, state, error_class, error_message, finished_at, requested_by_user, reason, resolved_by"

    static func facts(_ row: Row) -> RunFacts {
        let finished: Date? = row["finished_at"]
        return RunFacts(id: row["id"], job: row["job"], logicalTime: row["logical_time"], zone: row["logical_zone"],
                        trigger: Trigger(rawValue: row["trigger"]) ?? .schedule, state: RunState(rawValue: row["state"]) ?? .failed,
                        errorClass: (row["error_class"] as String?).flatMap(ErrorClass.init(rawValue:)), errorMessage: row["error_message"],
                        finishedAt: finished.map { Int64($0.timeIntervalSince1970) }, requestedBy: row["requested_by_user"], reason: row["reason"],
                        resolvedBy: row["resolved_by"])
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
}
