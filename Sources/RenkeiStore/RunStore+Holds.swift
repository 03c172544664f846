import Foundation
import GRDB

/// Jobs an operator holds (`renkeictl hold`), so that a hold survives a restart of renkeid.
extension RunStore {
    public struct HoldRow: Sendable, Equatable {
        public var job: String
        public var heldBy: String
        public var reason: String
        public var since: Date
        public var until: Date?

        public init(job: String, heldBy: String, reason: String, since: Date, until: Date?) {
            self.job = job
            self.heldBy = heldBy
            self.reason = reason
            self.since = since
            self.until = until
        }
    }

    /// Holds `job` (again: the newer hold replaces the older).
    public func setHold(_ hold: HoldRow) async throws {
        try await write(.powerCut) { db in
            try db.execute(sql: "INSERT OR REPLACE INTO hold (job, held_by, reason, since, until) VALUES (?, ?, ?, ?, ?)",
                           arguments: [hold.job, hold.heldBy, hold.reason, hold.since, hold.until])
        }
    }

    public func removeHold(job: String) async throws {
        try await write(.powerCut) { db in
            try db.execute(sql: "DELETE FROM hold WHERE job = ?", arguments: [job])
        }
    }

    public func holds() throws -> [HoldRow] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT job, held_by, reason, since, until FROM hold ORDER BY job").map { row in
                HoldRow(job: row["job"], heldBy: row["held_by"], reason: row["reason"], since: row["since"], until: row["until"])
            }
        }
    }
}
