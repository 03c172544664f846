import Foundation
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// What a node finds of its own earlier incarnations when it starts again on the same machine
/// (a crash, `kill -9`, a fast restart by systemd): an incarnation still `alive` in the database
/// whose renkeid process is gone, and step processes it left running. The new incarnation stops
/// those steps and declares the old one dead itself — it knows better than the leader's clock —
/// so its name is free at once and the leader interrupts and retries its runs at its next pass.
public enum NodeRestart {
    /// A step process an earlier incarnation of this node recorded, of a run not yet ended or
    /// interrupted in the last day.
    public struct LeftoverStep: Sendable, Equatable {
        public var runID: Int64
        public var job: String
        public var step: String
        public var pid: Int32
        /// `ProcessIdentity`, as recorded when it was spawned.
        public var process: String
    }

    /// An earlier incarnation of the node still alive in the database.
    public struct EarlierIncarnation: Sendable, Equatable {
        public var incarnation: UUID
        /// Its renkeid's `ProcessIdentity`; nil when an older renkeid registered it.
        public var process: String?
        public var pid: Int32
    }

    /// Earlier incarnations of `name` on `host` that the database still holds alive.
    public static func alive(_ session: PostgresSession, name: String, host: String) async throws -> [EarlierIncarnation] {
        let rows = try await session.run("""
            SELECT incarnation, process, pid FROM node WHERE node_name = \(name) AND host = \(host) AND state = 'alive'
            """, doing: "looking for earlier incarnations of node \(name)")
        return try rows.map { row in
            let (incarnation, process, pid) = try row.decode((UUID, String?, Int32).self)
            return EarlierIncarnation(incarnation: incarnation, process: process, pid: pid)
        }
    }

    /// Step processes recorded by earlier incarnations of `name` on `host`.
    public static func leftoverSteps(_ session: PostgresSession, name: String, host: String) async throws -> [LeftoverStep] {
        let rows = try await session.run("""
            SELECT r.id, r.job, s.name, s.pid, s.process FROM step s JOIN run r ON r.id = s.run_id JOIN node n ON n.incarnation = r.owner_node
            WHERE n.node_name = \(name) AND n.host = \(host) AND s.pid IS NOT NULL AND s.process IS NOT NULL
              AND s.state IN ('running', 'interrupted')
              AND (r.state = 'running' OR (r.state = 'interrupted' AND r.finished_at > now() - interval '1 day'))
            ORDER BY r.id, s.position
            """, doing: "looking for step processes node \(name) left")
        return try rows.map { row in
            let (id, job, step, pid, process) = try row.decode((Int64, String, String, Int32, String).self)
            return LeftoverStep(runID: id, job: job, step: step, pid: pid, process: process)
        }
    }

    /// Declares an earlier incarnation dead: its process is gone (checked by the caller on this
    /// machine). Its heartbeat stamp stays; the leader interrupts its runs at its next sweep.
    public static func declareGone(_ session: PostgresSession, _ incarnation: UUID) async throws {
        try await session.run("UPDATE node SET state = 'dead' WHERE incarnation = \(incarnation) AND state = 'alive'",
                              doing: "declaring the earlier incarnation \(incarnation) dead")
    }
}
