import Foundation
import GRDB
import RenkeiCore

/// One row of `file`: a file a built-in step received or delivered (or refused to), with its hash.
/// Receipts — what a later run must not receive or deliver twice — are read from these rows.
public struct FileRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "file"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var runId: Int64
    /// The step's 0-based position, and its name.
    public var position: Int
    public var step: String
    public var job: String
    /// `2026-12-01`, the run's logical date in the job's zone.
    public var logicalDate: String
    public var direction: LinkFile.Direction
    public var path: String
    public var source: String?
    public var bytes: Int64
    public var sha256: String
    public var modifiedAt: Date?
    public var records: Int64?
    public var outcome: LinkFile.Outcome
    public var note: String?
    public var recordedAt: Date

    public init(runId: Int64, position: Int, step: String, job: String, logicalDate: String, file: LinkFile, recordedAt: Date) {
        self.runId = runId
        self.position = position
        self.step = step
        self.job = job
        self.logicalDate = logicalDate
        direction = file.direction
        path = file.path
        source = file.source
        bytes = file.bytes
        sha256 = file.sha256
        modifiedAt = file.modifiedAt.map { Date(timeIntervalSince1970: $0) }
        records = file.records
        outcome = file.outcome
        note = file.note
        self.recordedAt = recordedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension LinkFile.Direction: DatabaseValueConvertible {}
extension LinkFile.Outcome: DatabaseValueConvertible {}

extension RunStore {
    /// What a built-in step must know of earlier files: for `receive`, the content this job took
    /// in for other logical dates; for `deliver`, the newest delivery to each path for this date.
    public func receipts(job: String, logicalDate: String, direction: LinkFile.Direction) throws -> [LinkRequest.Receipt] {
        try pool.read { db in
            let rows: [Row]
            switch direction {
            case .received:
                rows = try Row.fetchAll(db, sql: """
                    SELECT run_id, logical_date, coalesce(source, path) AS path, sha256, bytes, recorded_at FROM file
                    WHERE job = ? AND direction = 'received' AND outcome IN ('received', 'received_duplicate') AND logical_date != ?
                    ORDER BY id
                    """, arguments: [job, logicalDate])
            case .delivered:
                // SQLite takes the other columns from the row holding MAX(id): the newest delivery to each path.
                rows = try Row.fetchAll(db, sql: """
                    SELECT run_id, logical_date, path, sha256, bytes, recorded_at, MAX(id) FROM file
                    WHERE job = ? AND direction = 'delivered' AND outcome = 'delivered' AND logical_date = ?
                    GROUP BY path
                    """, arguments: [job, logicalDate])
            }
            return rows.map { row in
                LinkRequest.Receipt(runID: row["run_id"], logicalDate: row["logical_date"], path: row["path"], sha256: row["sha256"],
                                    bytes: row["bytes"], at: (row["recorded_at"] as Date).timeIntervalSince1970)
            }
        }
    }
}
