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
    /// Converted files: the content they were made from.
    public var sourceSha256: String?
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
        sourceSha256 = file.sourceSHA256
        self.recordedAt = recordedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension LinkFile.Direction: DatabaseValueConvertible {}
extension LinkFile.Outcome: DatabaseValueConvertible {}

extension RunStore {
    /// Records the files of one step. A file's record count, once a `check` counted it, holds for
    /// every file of the same content for the job and date (and for a file converted from it), so
    /// the reconciliation shows records received and delivered whichever step counted them.
    static func insertFiles(_ files: [LinkFile], runID: Int64, position: Int, finishedAt: Date, _ db: Database) throws {
        let run = try fetchRun(db, runID)
        let step = try String.fetchOne(db, sql: "SELECT name FROM step WHERE run_id = ? AND position = ?", arguments: [runID, position]) ?? ""
        let date = run.logical.date
        func known(_ sha256: String) throws -> Int64? {
            try Int64.fetchOne(db, sql: "SELECT records FROM file WHERE job = ? AND logical_date = ? AND sha256 = ? AND records IS NOT NULL ORDER BY id DESC LIMIT 1",
                               arguments: [run.job, date, sha256])
        }
        for file in files {
            var record = FileRecord(runId: runID, position: position, step: step, job: run.job, logicalDate: date, file: file, recordedAt: finishedAt)
            if record.records == nil { record.records = try known(file.sha256) ?? file.sourceSHA256.flatMap(known) }
            try record.insert(db)
            if let records = record.records {
                try db.execute(sql: "UPDATE file SET records = ? WHERE job = ? AND logical_date = ? AND sha256 = ? AND records IS NULL",
                               arguments: [records, run.job, date, file.sha256])
                // What was converted from this content keeps its count.
                try db.execute(sql: """
                    UPDATE file SET records = ? WHERE job = ? AND logical_date = ? AND records IS NULL AND sha256 IN
                      (SELECT sha256 FROM file WHERE job = ? AND logical_date = ? AND direction = 'converted' AND source_sha256 = ?)
                    """, arguments: [records, run.job, date, run.job, date, file.sha256])
            }
        }
    }

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
            case .checked, .converted:
                rows = []
            }
            return rows.map { row in
                LinkRequest.Receipt(runID: row["run_id"], logicalDate: row["logical_date"], path: row["path"], sha256: row["sha256"],
                                    bytes: row["bytes"], at: (row["recorded_at"] as Date).timeIntervalSince1970)
            }
        }
    }
}
