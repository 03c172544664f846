import Foundation
import GRDB
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// One run as `renkeictl show` prints it, read from PostgreSQL: the run, its steps with their
/// output tails, the files its built-in steps moved, the notifications about it and when
/// retention purged it — what `RunStore.detail`, `notifications` and `purgedAt` answer on SQLite.
///
/// Every row goes through RenkeiStore's own decoding (`RunRecord(row:)`, `StepRecord(row:)`,
/// `FileRecord`'s, `NotificationRow`'s columns), with times as the text SQLite holds (UTC, whole
/// milliseconds) and tails as bytes, so one printing code prints both stores byte for byte.
/// Read in one REPEATABLE READ, READ ONLY transaction: a node finishing the run meanwhile cannot
/// show its steps ended and the run still running.
public struct PostgresRunDetail: Sendable {
    public var detail: RunDetail
    /// Oldest first, as `RunStore.notifications(runID:)`.
    public var notifications: [RunStore.NotificationRow]
    /// When retention cleared the output and work directory; nil if it has not.
    public var purgedAt: Date?

    /// Run `runID` with everything `show` prints of it; nil when the database has no such run.
    public static func read(_ session: PostgresSession, runID: Int64) async throws -> PostgresRunDetail? {
        let doing = "reading run \(runID)"
        return try await session.transaction(doing: doing) {
            try await session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", doing: doing)
            guard let runRow = try await rows(of: CopiedTable.run, "id", runID, orderedBy: "id", session, doing: doing).first else { return nil }
            let steps = try await rows(of: table("step"), "run_id", runID, orderedBy: "position", session, doing: "reading the steps of run \(runID)")
            let files = try await rows(of: table("file"), "run_id", runID, orderedBy: "position, id", session, doing: "reading the files of run \(runID)")
            let notifications = try await rows(of: table("notification"), "run_id", runID, orderedBy: "id", session,
                                               doing: "reading the notifications about run \(runID)")
            let detail = RunDetail(run: try RunRecord(row: runRow), steps: try steps.map(StepRecord.init(row:)),
                                   files: try files.map(FileRecord.init(row:)))
            return PostgresRunDetail(detail: detail, notifications: try notifications.map(notification), purgedAt: runRow["purged_at"])
        }
    }

    /// The copy's description of a table: the columns both stores have, with their kinds.
    static func table(_ name: String) -> CopiedTable { CopiedTable.all.first { $0.name == name }! }

    /// The rows of `table` whose `column` is `value`, as GRDB rows of SQLite's values: integers
    /// as Int64, times as GRDB's text for a Date, blobs as Data.
    static func rows(of table: CopiedTable, _ column: String, _ value: Int64, orderedBy order: String,
                     _ session: PostgresSession, doing: String) async throws -> [Row] {
        let selected = table.columns.map { column -> String in
            switch column.kind {
            case .integer: "\"\(column.name)\"::bigint"
            case .text, .blob: "\"\(column.name)\""
            case .time: "to_char(\"\(column.name)\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')"
            }
        }.joined(separator: ", ")
        var binds = PostgresBindings()
        binds.append(value)
        let sql = "SELECT \(selected) FROM \(table.name) WHERE \(column) = $1 ORDER BY \(order)"
        return try await session.run(PostgresQuery(unsafeSQL: sql, binds: binds), doing: doing).map { row in
            let cells = row.makeRandomAccess()
            var values: [String: (any DatabaseValueConvertible)?] = [:]
            for (index, column) in table.columns.enumerated() {
                switch column.kind {
                case .integer: values[column.name] = try cells[index].decode(Int64?.self)
                case .text, .time: values[column.name] = try cells[index].decode(String?.self)
                case .blob: values[column.name] = try cells[index].decode(ByteBuffer?.self).map { Data($0.readableBytesView) }
                }
            }
            return Row(values)
        }
    }

    /// A `notification` row as `RunStore.notifications(runID:)` decodes it.
    static func notification(_ row: Row) throws -> RunStore.NotificationRow {
        RunStore.NotificationRow(runID: row["run_id"], job: row["job"], logicalDate: row["logical_date"], event: row["event"],
                                 channel: row["channel"], recipients: row["recipients"], at: row["at"], result: row["result"],
                                 message: row["message"], attempt: row["attempt"])
    }
}
