import Foundation
import PostgresNIO

extension PostgresRunReading {
    /// Run `id`'s steps in order, each with its state: what `renkeictl run --wait` follows.
    public static func stepStates(_ session: PostgresSession, runID id: Int64) async throws -> [(name: String, state: String)] {
        let rows = try await session.run("SELECT name, state FROM step WHERE run_id = \(id) ORDER BY position",
                                         doing: "reading the steps of run \(id)")
        return try rows.map { row in
            let (name, state) = try row.decode((String, String).self)
            return (name, state)
        }
    }
}
