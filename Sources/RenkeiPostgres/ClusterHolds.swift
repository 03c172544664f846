import Foundation
import PostgresNIO
import RenkeiCore

/// The jobs held on PostgreSQL (`renkeictl hold` on any node, carried out by the leader through
/// `ClusterRequests`): the leader records their automatic slots `skipped`, as one machine does
/// (`Hold`), and `status` and `jobs` show them.
public enum ClusterHolds {
    /// Every hold on record, by job; one whose `until` has passed no longer holds (`isHolding`).
    public static func current(_ session: PostgresSession) async throws -> [String: Hold] {
        let rows = try await session.run("""
            SELECT job, held_by, reason, extract(epoch FROM since)::bigint, extract(epoch FROM "until")::bigint FROM hold
            """, doing: "reading the held jobs")
        var holds: [String: Hold] = [:]
        for row in rows {
            let (job, by, reason, since, until) = try row.decode((String, String, String, Int64, Int64?).self)
            holds[job] = Hold(by: by, reason: reason, since: Instant(secondsSinceEpoch: since), until: until.map { Instant(secondsSinceEpoch: $0) })
        }
        return holds
    }

    /// Whether `hold` still holds at `now` (no `until`, or `until` to come).
    public static func isHolding(_ hold: Hold, at now: Instant) -> Bool {
        hold.until.map { $0 > now } ?? true
    }
}
