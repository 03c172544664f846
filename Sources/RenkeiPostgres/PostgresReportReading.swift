import Foundation
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// The failure report's questions (`ReportReading`) asked of the PostgreSQL store, with the
/// semantics of SQLite's (RunStore+Report.swift): the same period filter on `logical_time`
/// (Unix seconds on both), days by integer division that truncates as SQLite's does, text
/// ordered byte by byte (`COLLATE "C"`, SQLite's BINARY) whatever the database's collation, and
/// `finished_at` (timestamptz here, text there) cut to whole seconds as GRDB's `Date` is.
///
/// Read through `snapshot`: every question in one REPEATABLE READ, READ ONLY transaction, so the
/// counts, the failures and the audit head are of one moment even while nodes write.
public struct PostgresReportReading: ReportReading, Sendable {
    let session: PostgresSession

    /// `body` with a reading of one snapshot of the database; the transaction ends with it.
    public static func snapshot<Result>(_ session: PostgresSession, _ body: (PostgresReportReading) async throws -> Result) async throws -> Result {
        try await session.transaction(doing: "reading the failure report") {
            try await session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", doing: "reading the failure report")
            return try await body(PostgresReportReading(session: session))
        }
    }

    static let failedStates = ["failed", "timed_out", "interrupted"]

    public func reportCounts(_ scope: RunStore.ReportScope) async throws -> (counts: [String: [RunState: Int]], newest: [String: [RunState: Int64]]) {
        var counts: [String: [RunState: Int]] = [:]
        var newest: [String: [RunState: Int64]] = [:]
        let rows = try await session.run("""
            SELECT job, state, count(*), max(logical_time) FROM run
            WHERE logical_time >= \(scope.since) AND logical_time < \(scope.until) AND (\(scope.jobs.isEmpty) OR job = ANY(\(scope.jobs)))
            GROUP BY job, state
            """, doing: "counting the runs of the report's period")
        for row in rows {
            let (job, stateName, count, time) = try row.decode((String, String, Int64, Int64).self)
            guard let state = RunState(rawValue: stateName) else { continue }
            counts[job, default: [:]][state] = Int(count)
            newest[job, default: [:]][state] = time
        }
        return (counts, newest)
    }

    public func reportFailures(_ scope: RunStore.ReportScope) async throws -> [RunFacts] {
        try await session.run("""
            SELECT \(unescaped: Self.factColumns) FROM run
            WHERE logical_time >= \(scope.since) AND logical_time < \(scope.until) AND (\(scope.jobs.isEmpty) OR job = ANY(\(scope.jobs)))
              AND state = ANY(\(Self.failedStates))
            ORDER BY id
            """, doing: "reading the failed runs of the report's period").map(Self.facts)
    }

    public func reportRuns(ids: [Int64]) async throws -> [RunFacts] {
        guard !ids.isEmpty else { return [] }
        return try await session.run("SELECT \(unescaped: Self.factColumns) FROM run WHERE id = ANY(\(ids))",
                                     doing: "reading the runs that resolved failures").map(Self.facts)
    }

    /// RunStore's `factColumns`, `finished_at` as whole Unix seconds (GRDB's Date cut by Int64()).
    static let factColumns = """
        id, job, logical_time, logical_zone, trigger, state, error_class, error_message,
        floor(extract(epoch FROM finished_at))::bigint, requested_by_user, reason, resolved_by
        """

    static func facts(_ row: PostgresRow) throws -> RunFacts {
        let (id, job, logicalTime, zone, trigger, state, errorClass, errorMessage, finishedAt, requestedBy, reason, resolvedBy) =
            try row.decode((Int64, String, Int64, String, String, String, String?, String?, Int64?, String?, String?, Int64?).self)
        return RunFacts(id: id, job: job, logicalTime: logicalTime, zone: zone,
                        trigger: Trigger(rawValue: trigger) ?? .schedule, state: RunState(rawValue: state) ?? .failed,
                        errorClass: errorClass.flatMap(ErrorClass.init(rawValue:)), errorMessage: errorMessage,
                        finishedAt: finishedAt, requestedBy: requestedBy, reason: reason, resolvedBy: resolvedBy)
    }

    public func reportBreaches(_ scope: RunStore.ReportScope) async throws -> [String: Int] {
        let rows = try await session.run("""
            SELECT job, count(*) FROM deadline_breach
            WHERE logical_time >= \(scope.since) AND logical_time < \(scope.until) AND (\(scope.jobs.isEmpty) OR job = ANY(\(scope.jobs)))
            GROUP BY job
            """, doing: "counting the deadline breaches of the report's period")
        return Dictionary(uniqueKeysWithValues: try rows.map { row in
            let (job, count) = try row.decode((String, Int64).self)
            return (job, Int(count))
        })
    }

    /// RunStore.reportFiles in PostgreSQL's words: SQLite's `MIN(EXISTS …)` over 0/1 is
    /// `bool_and`, `SUM(direction = …)` a filtered count, and sums are cast back from numeric.
    public func reportFiles(_ scope: RunStore.ReportScope) async throws -> [LinkDateFiles] {
        let counted = LinkFile.Outcome.allCases.filter(\.counts).map(\.rawValue)
        let rows = try await session.run("""
            WITH distinct_file AS (
                SELECT f.job, f.logical_date, f.direction, f.sha256,
                       CASE f.direction WHEN 'received' THEN coalesce(f.source, f.path) ELSE f.path END AS origin,
                       max(f.bytes) AS bytes, max(f.records) AS records,
                       bool_and(EXISTS (SELECT 1 FROM run AS s WHERE s.job = r.job AND s.logical_time = r.logical_time AND s.state = 'succeeded')) AS succeeded
                FROM (SELECT id, job, logical_time FROM run
                      WHERE logical_time >= \(scope.since) AND logical_time < \(scope.until) AND (\(scope.jobs.isEmpty) OR job = ANY(\(scope.jobs)))) AS r
                JOIN file AS f ON f.run_id = r.id
                WHERE f.direction IN ('received', 'delivered') AND f.outcome = ANY(\(counted))
                GROUP BY f.job, f.logical_date, f.direction, origin, f.sha256
            )
            SELECT job, logical_date,
                   count(*) FILTER (WHERE direction = 'received'),
                   coalesce(sum(bytes) FILTER (WHERE direction = 'received'), 0)::bigint,
                   coalesce(sum(records) FILTER (WHERE direction = 'received'), 0)::bigint,
                   count(records) FILTER (WHERE direction = 'received'),
                   count(*) FILTER (WHERE direction = 'delivered'),
                   coalesce(sum(bytes) FILTER (WHERE direction = 'delivered'), 0)::bigint,
                   coalesce(sum(records) FILTER (WHERE direction = 'delivered'), 0)::bigint,
                   count(records) FILTER (WHERE direction = 'delivered'),
                   bool_and(succeeded)
            FROM distinct_file GROUP BY job, logical_date ORDER BY logical_date COLLATE "C", job COLLATE "C"
            """, doing: "reading the files of the report's period")
        return try rows.map { row in
            let (job, date, receivedFiles, receivedBytes, receivedRecords, receivedWithRecords,
                 deliveredFiles, deliveredBytes, deliveredRecords, deliveredWithRecords, succeeded) =
                try row.decode((String, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Bool).self)
            return LinkDateFiles(
                job: job, logicalDate: date,
                received: FileTotals(files: Int(receivedFiles), bytes: receivedBytes, countedRecords: receivedRecords, filesWithRecords: Int(receivedWithRecords)),
                delivered: FileTotals(files: Int(deliveredFiles), bytes: deliveredBytes, countedRecords: deliveredRecords, filesWithRecords: Int(deliveredWithRecords)),
                succeeded: succeeded)
        }
    }

    /// Both stores divide bigint by 86400 truncating toward zero, so a day is the same number.
    public func reportDays(_ scope: RunStore.ReportScope, offset: Int64) async throws -> [(day: Int64, runs: Int, failures: Int)] {
        let rows = try await session.run("""
            SELECT (logical_time + \(offset)) / 86400 AS day,
                   count(*) FILTER (WHERE state NOT IN ('missed', 'skipped')),
                   count(*) FILTER (WHERE state = ANY(\(Self.failedStates)))
            FROM run
            WHERE logical_time >= \(scope.since) AND logical_time < \(scope.until) AND (\(scope.jobs.isEmpty) OR job = ANY(\(scope.jobs)))
            GROUP BY day ORDER BY day
            """, doing: "counting the runs per day of the report's period")
        return try rows.map { row in
            let (day, runs, failures) = try row.decode((Int64, Int64, Int64).self)
            return (day, Int(runs), Int(failures))
        }
    }

    /// `audit_head`, the chain's head every node appends behind; `store copy` sets it to row 0
    /// (the genesis) for a store without audit rows, which the SQLite store reads as none.
    public func auditHead() async throws -> AuditHead? {
        guard let head = try await PostgresAudit.head(session), head.seq > 0 else { return nil }
        return head
    }
}
