import Foundation
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// The `file` rows of built-in steps on PostgreSQL, as `FileRecord` keeps them in SQLite: what a
/// step received or delivered, with its hash, and the receipts a later run reads so that nothing
/// is received or delivered twice — whichever node ran the earlier run.
enum RunFiles {
    /// Records the files of one step (inside the caller's transaction, under its claim). A file's
    /// record count, once counted, holds for every file of the same content for the job and date
    /// and for what was converted from it, as in SQLite.
    static func insert(_ files: [LinkFile], runID: Int64, position: Int, finishedAt: Date, _ session: PostgresSession) async throws {
        guard !files.isEmpty else { return }
        let doing = "recording the files of step \(position) of run \(runID)"
        let runRows = try await session.run("""
            SELECT r.job, r.logical_time, r.logical_zone, s.name FROM run r JOIN step s ON s.run_id = r.id AND s.position = \(position)
            WHERE r.id = \(runID)
            """, doing: doing)
        guard let runRow = runRows.first else { return }
        let (job, logicalTime, zone, step) = try runRow.decode((String, Int64, String, String).self)
        let date = LogicalTime(epochSeconds: logicalTime, zoneIdentifier: zone).date
        for file in files {
            var records = file.records
            if records == nil {
                let known = try await session.run("""
                    SELECT records FROM file WHERE job = \(job) AND logical_date = \(date) AND records IS NOT NULL
                      AND (sha256 = \(file.sha256) OR sha256 = \(file.sourceSHA256))
                    ORDER BY (sha256 = \(file.sha256)) DESC, id DESC LIMIT 1
                    """, doing: doing)
                records = try known.first?.decode(Int64.self)
            }
            let modified = file.modifiedAt.map { Date(timeIntervalSince1970: $0) }
            try await session.run("""
                INSERT INTO file (run_id, position, step, job, logical_date, direction, path, source, bytes, sha256, modified_at,
                                  records, outcome, note, source_sha256, recorded_at)
                VALUES (\(runID), \(position), \(step), \(job), \(date), \(file.direction.rawValue), \(file.path), \(file.source),
                        \(file.bytes), \(file.sha256), \(modified), \(records), \(file.outcome.rawValue), \(file.note),
                        \(file.sourceSHA256), \(finishedAt))
                """, doing: doing)
            if let records {
                try await session.run("""
                    UPDATE file SET records = \(records) WHERE job = \(job) AND logical_date = \(date) AND records IS NULL
                      AND (sha256 = \(file.sha256) OR sha256 IN (SELECT sha256 FROM file WHERE job = \(job) AND logical_date = \(date)
                                                                AND direction = 'converted' AND source_sha256 = \(file.sha256)))
                    """, doing: doing)
            }
        }
    }

    /// `RunStore.receipts` on PostgreSQL: for `received`, the content this job took for other
    /// dates; for `delivered`, the newest delivery to each path for this date.
    static func receipts(job: String, logicalDate: String, direction: LinkFile.Direction,
                         _ session: PostgresSession) async throws -> [LinkRequest.Receipt] {
        let doing = "reading the \(direction.rawValue) files of \(job)"
        let rows: [PostgresRow]
        switch direction {
        case .received:
            rows = try await session.run("""
                SELECT run_id, logical_date, coalesce(source, path), sha256, bytes, extract(epoch FROM recorded_at)::float8 FROM file
                WHERE job = \(job) AND direction = 'received' AND outcome IN ('received', 'received_duplicate') AND logical_date != \(logicalDate)
                ORDER BY id
                """, doing: doing)
        case .delivered:
            rows = try await session.run("""
                SELECT DISTINCT ON (path) run_id, logical_date, path, sha256, bytes, extract(epoch FROM recorded_at)::float8 FROM file
                WHERE job = \(job) AND direction = 'delivered' AND outcome = 'delivered' AND logical_date = \(logicalDate)
                ORDER BY path, id DESC
                """, doing: doing)
        case .checked, .converted:
            return []
        }
        return try rows.map { row in
            let (runID, date, path, sha256, bytes, at) = try row.decode((Int64, String, String, String, Int64, Double).self)
            return LinkRequest.Receipt(runID: runID, logicalDate: date, path: path, sha256: sha256, bytes: bytes, at: at)
        }
    }
}
