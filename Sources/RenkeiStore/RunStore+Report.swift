import Foundation
import GRDB
import RenkeiCore

/// The aggregates the failure report needs, computed in SQL so a store of a million runs
/// answers in well under a second (by the `logical_time` index). The PostgreSQL store answers
/// the same questions (`ReportReading`) in PostgresReportReading.swift: keep the two alike.
extension RunStore: ReportReading {
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

    /// Files taken in and handed over per job and logical date, by the runs of the period; for the
    /// reconciliation table. Only outcomes that count (`LinkFile.Outcome.counts`) are summed, and
    /// each file once: a received file is the same file when it comes from the same place with the
    /// same content (a rerun's copy lands in another work directory), a delivered one when it has
    /// the same target path and content (`already_delivered` on a rerun).
    public func reportFiles(_ scope: ReportScope) throws -> [LinkDateFiles] {
        let counted = LinkFile.Outcome.allCases.filter(\.counts).map(\.rawValue)
        return try pool.read { db in
            // Only the two sides compared: files that `check` and `convert` steps record (Link
            // steps II) are neither taken in nor handed over.
            // Inner: one row per distinct file, with whether every run that handled it has a
            // succeeded run for its logical time (reruns and retries keep the logical time).
            // Outer: per job and date. The period is read through the `logical_time` index; the
            // files of each run through `file_by_run`.
            let sql = """
                WITH distinct_file AS (
                    SELECT f.job, f.logical_date, f.direction, f.sha256,
                           CASE f.direction WHEN 'received' THEN coalesce(f.source, f.path) ELSE f.path END AS origin,
                           MAX(f.bytes) AS bytes, MAX(f.records) AS records,
                           MIN(EXISTS (SELECT 1 FROM run AS s WHERE s.job = r.job AND s.logical_time = r.logical_time AND s.state = 'succeeded')) AS succeeded
                    FROM (SELECT id, job, logical_time FROM run WHERE \(scope.sql)) AS r
                    JOIN file AS f ON f.run_id = r.id
                    WHERE f.direction IN ('received', 'delivered') AND f.outcome IN (\(counted.map { _ in "?" }.joined(separator: ",")))
                    GROUP BY f.job, f.logical_date, f.direction, origin, f.sha256
                )
                SELECT job, logical_date,
                       SUM(direction = 'received') AS received_files,
                       coalesce(SUM(CASE WHEN direction = 'received' THEN bytes END), 0) AS received_bytes,
                       coalesce(SUM(CASE WHEN direction = 'received' THEN records END), 0) AS received_records,
                       COUNT(CASE WHEN direction = 'received' THEN records END) AS received_with_records,
                       SUM(direction = 'delivered') AS delivered_files,
                       coalesce(SUM(CASE WHEN direction = 'delivered' THEN bytes END), 0) AS delivered_bytes,
                       coalesce(SUM(CASE WHEN direction = 'delivered' THEN records END), 0) AS delivered_records,
                       COUNT(CASE WHEN direction = 'delivered' THEN records END) AS delivered_with_records,
                       MIN(succeeded) AS succeeded
                FROM distinct_file GROUP BY job, logical_date ORDER BY logical_date, job
                """
            return try Row.fetchAll(db, sql: sql, arguments: scope.arguments + StatementArguments(counted)).map { row in
                LinkDateFiles(
                    job: row["job"], logicalDate: row["logical_date"],
                    received: FileTotals(files: row["received_files"], bytes: row["received_bytes"],
                                         countedRecords: row["received_records"], filesWithRecords: row["received_with_records"]),
                    delivered: FileTotals(files: row["delivered_files"], bytes: row["delivered_bytes"],
                                          countedRecords: row["delivered_records"], filesWithRecords: row["delivered_with_records"]),
                    succeeded: row["succeeded"])
            }
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
