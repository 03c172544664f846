import Foundation
import PostgresNIO
import RenkeiCore

/// What an operator asks of a cluster at 6 a.m.: which nodes there are and when each was last
/// heard from, who leads and for how long yet, and what each node is running. Read in one
/// read-only snapshot; every age is measured by the database's clock, never this machine's.
public struct ClusterStatus: Sendable, Equatable {
    /// A renkeid process on the database (one incarnation).
    public struct Node: Sendable, Equatable {
        public var name: String
        public var incarnation: UUID
        public var host: String?
        public var pid: Int32?
        /// `alive`, `leaving` (a clean stop under way) or `dead` (declared so by the leader).
        public var state: String
        public var startedAt: Date
        /// Seconds since its last heartbeat, by the database's clock.
        public var heartbeatAge: Int64
        /// Its running runs, oldest first.
        public var runs: [RunningRun]
    }

    /// A run in state `running`.
    public struct RunningRun: Sendable, Equatable {
        public var id: Int64
        public var job: String
        public var logicalTime: LogicalTime
        public var since: Date?
        /// Seconds it has been running, by the database's clock.
        public var runningFor: Int64?
    }

    /// The scheduler lease as the database has it.
    public struct Lease: Sendable, Equatable {
        public var holder: UUID
        /// The node that holds it; nil when its incarnation is not in `node` any more.
        public var holderName: String?
        public var epoch: Int64
        public var acquiredAt: Date
        public var expiresAt: Date
        /// Seconds until it expires; negative: it expired that long ago and nobody leads.
        public var expiresIn: Int64

        public var isCurrent: Bool { expiresIn > 0 }
    }

    /// The database's clock when it was read.
    public var databaseTime: Date
    /// Alive and leaving nodes, and for each node name without one, its last incarnation (so a
    /// node that died does not vanish from the list); dead ones that still own a running run too.
    public var nodes: [Node]
    /// nil: the lease was never taken on this database.
    public var lease: Lease?
    /// Running runs with no owning node (`owner_node` NULL: not claimed through `RunClaims`).
    public var unownedRuns: [RunningRun]
    /// Queued runs, and how many of them are due (`not_before` passed).
    public var queued: Int64
    public var queuedDue: Int64

    /// The node that leads now, if the lease is current.
    public var leader: Node? {
        guard let lease, lease.isCurrent else { return nil }
        return nodes.first { $0.incarnation == lease.holder }
    }

    /// Reads it all in one read-only REPEATABLE READ transaction (one snapshot, one `now()`).
    public static func read(_ session: PostgresSession, role: String = "scheduler") async throws -> ClusterStatus {
        try await session.transaction(doing: "reading the cluster's status") {
            try await session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", doing: "reading the cluster's status")
            let clock = try await session.run("SELECT now()", doing: "reading the database's clock")
            let databaseTime = try clock[0].decode(Date.self)

            var runsByNode: [UUID: [RunningRun]] = [:]
            var unowned: [RunningRun] = []
            for row in try await session.run("""
                SELECT id, job, logical_time, logical_zone, started_at, floor(extract(epoch FROM now() - started_at))::bigint, owner_node
                FROM run WHERE state = 'running' ORDER BY started_at, id
                """, doing: "reading the running runs") {
                let (id, job, logical, zone, since, age, owner) = try row.decode((Int64, String, Int64, String, Date?, Int64?, UUID?).self)
                let run = RunningRun(id: id, job: job, logicalTime: LogicalTime(epochSeconds: logical, zoneIdentifier: zone), since: since, runningFor: age)
                if let owner { runsByNode[owner, default: []].append(run) } else { unowned.append(run) }
            }

            var nodes: [Node] = []
            for row in try await session.run("""
                SELECT incarnation, node_name, host, pid, state, started_at, floor(extract(epoch FROM now() - heartbeat_at))::bigint
                FROM node n
                WHERE state <> 'dead'
                   OR incarnation IN (SELECT owner_node FROM run WHERE state = 'running' AND owner_node IS NOT NULL)
                   OR incarnation IN (SELECT DISTINCT ON (node_name) incarnation FROM node ORDER BY node_name, started_at DESC)
                ORDER BY node_name, started_at
                """, doing: "reading the nodes") {
                let (incarnation, name, host, pid, state, startedAt, age) = try row.decode((UUID, String, String?, Int32?, String, Date, Int64).self)
                nodes.append(Node(name: name, incarnation: incarnation, host: host, pid: pid, state: state, startedAt: startedAt,
                                  heartbeatAge: age, runs: runsByNode.removeValue(forKey: incarnation) ?? []))
            }
            // Every owner of a running run is listed above; kept so that no running run can be
            // left out of the answer, whatever the rows say.
            unowned += runsByNode.values.joined()

            let leaseRows = try await session.run("""
                SELECT l.holder, n.node_name, l.epoch, l.acquired_at, l.expires_at, floor(extract(epoch FROM l.expires_at - now()))::bigint
                FROM lease l LEFT JOIN node n ON n.incarnation = l.holder
                WHERE l.role = \(role)
                """, doing: "reading the \(role) lease")
            let lease = try leaseRows.first.map { row in
                let (holder, name, epoch, acquiredAt, expiresAt, expiresIn) = try row.decode((UUID, String?, Int64, Date, Date, Int64).self)
                return Lease(holder: holder, holderName: name, epoch: epoch, acquiredAt: acquiredAt, expiresAt: expiresAt, expiresIn: expiresIn)
            }

            let queue = try await session.run("""
                SELECT count(*), count(*) FILTER (WHERE not_before <= now()) FROM run WHERE state = 'queued'
                """, doing: "counting the queued runs")
            let (queued, due) = try queue[0].decode((Int64, Int64).self)

            return ClusterStatus(databaseTime: databaseTime, nodes: nodes, lease: lease, unownedRuns: unowned.sorted { $0.id < $1.id },
                                 queued: queued, queuedDue: due)
        }
    }
}
