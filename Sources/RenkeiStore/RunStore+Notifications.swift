import Foundation
import GRDB

/// Notifications sent (or tried), so that `show` says who was told about a run, and when.
extension RunStore {
    public struct NotificationRow: Sendable, Equatable {
        public var runID: Int64?
        public var job: String?
        public var logicalDate: String?
        /// `failed`, `late`, `recovered`, `unresolved` (a reminder)…
        public var event: String
        /// `mail` or `command`.
        public var channel: String
        /// The addresses, or the command's path.
        public var recipients: String
        public var at: Date
        /// `ok` or `failed`; `message`: why it failed.
        public var result: String
        public var message: String?
        public var attempt: Int

        public init(runID: Int64?, job: String?, logicalDate: String?, event: String, channel: String, recipients: String,
                    at: Date, result: String, message: String?, attempt: Int) {
            self.runID = runID
            self.job = job
            self.logicalDate = logicalDate
            self.event = event
            self.channel = channel
            self.recipients = recipients
            self.at = at
            self.result = result
            self.message = message
            self.attempt = attempt
        }
    }

    /// Records one try; rows for several runs (a reminder) are written together.
    public func recordNotification(_ rows: [NotificationRow]) async throws {
        try await write(.powerCut) { db in
            for row in rows {
                try db.execute(sql: """
                    INSERT INTO notification (run_id, job, logical_date, event, channel, recipients, at, result, message, attempt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [row.runID, row.job, row.logicalDate, row.event, row.channel, row.recipients, row.at, row.result, row.message, row.attempt])
            }
        }
    }

    /// The notifications about `runID`, oldest first.
    public func notifications(runID: Int64) throws -> [NotificationRow] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT run_id, job, logical_date, event, channel, recipients, at, result, message, attempt
                FROM notification WHERE run_id = ? ORDER BY id
                """, arguments: [runID]).map { row in
                NotificationRow(runID: row["run_id"], job: row["job"], logicalDate: row["logical_date"], event: row["event"], channel: row["channel"],
                                recipients: row["recipients"], at: row["at"], result: row["result"], message: row["message"], attempt: row["attempt"])
            }
        }
    }

    /// Whether a notice about a failure of `job` for `logicalDate` went out (by any channel, for
    /// any of that date's runs): the incident was told, so its end is told as `recovered`.
    public func failureWasTold(job: String, logicalDate: String) throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM notification WHERE job = ? AND logical_date = ? AND result = 'ok'
                                                           AND event NOT IN ('recovered', 'unresolved'))
                """, arguments: [job, logicalDate]) ?? false
        }
    }
}
