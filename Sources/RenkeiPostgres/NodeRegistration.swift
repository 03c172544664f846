import Foundation
import PostgresNIO
import RenkeiCore

/// A renkeid process on the shared database: one `node` row per process start (its incarnation),
/// so an old copy that wakes up after a pause can never pass for the node's new start.
public struct NodeRegistration: Sendable, Equatable {
    public var incarnation: UUID
    /// `--node-name`: what operators call the machine; only one alive incarnation per name.
    public var name: String

    public init(incarnation: UUID = UUID(), name: String) {
        self.incarnation = incarnation
        self.name = name
    }

    /// Registers this incarnation as alive. A name already alive is refused by the database
    /// (`node_one_alive`), so two processes cannot share a node's identity.
    /// `maxConcurrent` and `timings` are written for `renkeictl status` to judge the node by.
    public func register(_ session: PostgresSession, host: String, pid: Int32, maxConcurrent: Int? = nil,
                         timings: ClusterTimings? = nil, process: String? = nil) async throws {
        let ttl = timings.map { Double($0.leaseTTL.seconds) }, deadAfter = timings.map { Double($0.deadAfter.seconds) }
        do {
            try await session.run("""
                INSERT INTO node (incarnation, node_name, host, pid, max_concurrent, lease_ttl_seconds, dead_after_seconds, process)
                VALUES (\(incarnation), \(name), \(host), \(pid), \(maxConcurrent), \(ttl), \(deadAfter), \(process))
                """, doing: "registering node \(name)")
        } catch let problem as PostgresProblem where problem.sqlState == "23505" {
            throw PostgresProblem(
                kind: .refused, address: problem.address, sqlState: problem.sqlState,
                message: "node name '\(name)' is already alive in \(problem.address): another renkeid uses it; give this one another --node-name, or stop the other first")
        }
    }

    /// A clean stop: the incarnation is `leaving`, so the name is free at once and nobody
    /// mistakes the silence that follows for a death.
    public func leave(_ session: PostgresSession) async throws {
        try await session.run("UPDATE node SET state = 'leaving' WHERE incarnation = \(incarnation) AND state = 'alive'",
                              doing: "recording that node \(name) stops")
    }
}
