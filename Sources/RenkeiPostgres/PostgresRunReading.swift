import Foundation
import GRDB
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// `run` rows read from PostgreSQL as RenkeiStore's `RunRecord`, so `renkeictl history` prints
/// them with the same code, word for word, as it prints a SQLite store's.
///
/// Each row goes through `RunRecord(row:)`, the decoding the SQLite store uses: times travel as
/// the text SQLite holds (UTC, whole milliseconds, `2026-12-01 21:30:00.007`), so a copied run's
/// times are the same `Date` on both stores, and integers as `bigint`.
public enum PostgresRunReading {
    /// Runs newest first (by id), of one job or all, queued at or after `since`: what
    /// `RunStore.history` answers on SQLite, with the same filters.
    public static func history(_ session: PostgresSession, job: String? = nil, since: Date? = nil, limit: Int = 50) async throws -> [RunRecord] {
        var binds = PostgresBindings()
        var conditions: [String] = []
        if let job {
            binds.append(job)
            conditions.append("job = $\(binds.count)")
        }
        if let since {
            binds.append(Int64((since.timeIntervalSince1970 * 1000).rounded()))
            conditions.append("queued_at >= timestamptz 'epoch' + $\(binds.count)::bigint * interval '1 millisecond'")
        }
        binds.append(Int64(limit))
        var sql = "SELECT \(selected) FROM run"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id DESC LIMIT $\(binds.count)::bigint"
        let rows = try await session.run(PostgresQuery(unsafeSQL: sql, binds: binds), doing: job.map { "reading the history of \($0)" } ?? "reading the history")
        return try rows.map(record)
    }

    /// One run, as `RunStore.run(id:)` reads it; nil when there is none.
    public static func run(_ session: PostgresSession, id: Int64) async throws -> RunRecord? {
        var binds = PostgresBindings()
        binds.append(id)
        let rows = try await session.run(PostgresQuery(unsafeSQL: "SELECT \(selected) FROM run WHERE id = $1", binds: binds),
                                         doing: "reading run \(id)")
        return try rows.first.map(record)
    }

    /// The columns of `run`, as the copy knows them (SQLite's v1–v11, column for column);
    /// `RunRecord(row:)` reads those it has.
    static var columns: [CopiedTable.Column] { CopiedTable.run.columns }

    /// `String` spelled out: GRDB's `SQL` is string-literal too, and would be inferred.
    static let selected: String = columns.map { column -> String in
        switch column.kind {
        case .integer: "\"\(column.name)\"::bigint"
        case .text, .blob: "\"\(column.name)\""
        // GRDB's own text for a Date: what the SQLite store holds, to the millisecond.
        case .time: "to_char(\"\(column.name)\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')"
        }
    }.joined(separator: ", ")

    static func record(_ row: PostgresRow) throws -> RunRecord {
        let cells = row.makeRandomAccess()
        var values: [String: (any DatabaseValueConvertible)?] = [:]
        for (index, column) in columns.enumerated() {
            switch column.kind {
            case .integer: values[column.name] = try cells[index].decode(Int64?.self)
            case .text, .blob, .time: values[column.name] = try cells[index].decode(String?.self)
            }
        }
        return try RunRecord(row: Row(values))
    }
}
