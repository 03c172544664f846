import Foundation
import PostgresNIO
import RenkeiCore

/// A node's heartbeat: stamps `node.heartbeat_at` with the database's clock, only while the
/// database still holds this incarnation alive. The leader's reaper reads the stamps.
public struct NodeHeartbeat: Sendable {
    /// What one heartbeat came to; feed it to `SelfFence` with the instant the attempt started.
    public enum Outcome: Sendable {
        /// Stamped at `heartbeatAt` (database time).
        case alive(heartbeatAt: Date)
        /// No row updated: the leader declared this incarnation dead (or it is gone). Stop the
        /// steps, write nothing more, and register again with a fresh incarnation.
        case declaredDead
        /// The statement failed (connection cut, no answer, server error): a missed heartbeat.
        case failed(PostgresProblem)
    }

    public var node: NodeRegistration

    public init(node: NodeRegistration) {
        self.node = node
    }

    /// One heartbeat. Never throws: a failure is an outcome the self-fence counts.
    public func beat(_ session: PostgresSession) async -> Outcome {
        do {
            let rows = try await session.run("""
                UPDATE node SET heartbeat_at = now()
                WHERE incarnation = \(node.incarnation) AND state = 'alive'
                RETURNING heartbeat_at
                """, doing: "stamping the heartbeat of node \(node.name)")
            guard let row = rows.first else { return .declaredDead }
            return .alive(heartbeatAt: try row.decode(Date.self))
        } catch let problem as PostgresProblem {
            return .failed(problem)
        } catch {
            return .failed(PostgresProblem.from(error, address: session.address, doing: "stamping the heartbeat of node \(node.name)"))
        }
    }
}
