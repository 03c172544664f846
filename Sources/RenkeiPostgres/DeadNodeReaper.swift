import Foundation
import PostgresNIO
import RenkeiCore

/// The leader's sweep for nodes that stopped heartbeating: it declares them dead and records
/// their running runs `interrupted`, so the runs can be retried elsewhere. Only the leader runs
/// it, and only inside its fenced transaction, so a deposed leader cannot reap. Every time is the
/// database's clock.
///
/// It does nothing while its own view may be too young to tell silence from an outage: until
/// the leader has held the lease for `--dead-after` (right after an election every node's stamp
/// may look old to it) and until PostgreSQL itself has been up for `--dead-after` (an outage
/// longer than that leaves every stamp old; nodes must first get a chance to beat again).
public struct DeadNodeReaper: Sendable {
    /// A node declared dead by this sweep.
    public struct DeclaredNode: Sendable, Equatable {
        public var incarnation: UUID
        public var name: String
        /// Its last heartbeat (database time).
        public var lastHeartbeat: Date
    }

    /// A run that was running on a declared node and is now `interrupted`; the daemon queues its
    /// retry per the job's policy, not before `Reaping.retryNotBefore`.
    public struct InterruptedRun: Sendable, Equatable {
        public var runID: Int64
        public var job: String
        /// Unix seconds, as in `run.logical_time`.
        public var logicalTime: Int64
        public var attempt: Int
        public var node: String
    }

    /// What one sweep did.
    public struct Reaping: Sendable, Equatable {
        public var declared: [DeclaredNode]
        public var interrupted: [InterruptedRun]
        /// When the sweep declared them (database time, the transaction's `now()`).
        public var declaredAt: Date
        /// The earliest instant (database time) a retry of an interrupted run may start.
        ///
        /// Why the old copy is dead by then: a node counts its self-fence from the START of its
        /// last good heartbeat, which came before the database stamped `heartbeat_at`; so its
        /// steps got SIGTERM by `heartbeat_at + --self-fence-after` and SIGKILL by
        /// `heartbeat_at + --self-fence-after + kill grace`. The sweep declares a node only when
        /// `heartbeat_at < now() - --dead-after`, so `declaredAt + --retry-grace` is later than
        /// `heartbeat_at + --dead-after + --retry-grace`, which `ClusterTimings.validated()`
        /// keeps at or after the SIGKILL (`self-fence + kill grace ≤ dead-after + retry grace`).
        /// The grace used is never shorter than that difference, even for unchecked timings.
        public var retryNotBefore: Date
    }

    /// Why a sweep declared nobody although a node may be silent.
    public enum TooSoon: Sendable, Equatable, CustomStringConvertible {
        /// The leader won the lease less than `--dead-after` ago.
        case electedRecently(acquiredAt: Date, reapFrom: Date)
        /// PostgreSQL started less than `--dead-after` ago.
        case databaseRestartedRecently(startedAt: Date, reapFrom: Date)

        public var description: String {
            switch self {
            case .electedRecently(let acquiredAt, let from):
                return "no node declared dead yet: this node became leader at \(Self.clock(acquiredAt)) and waits until \(Self.clock(from)) (--dead-after) so that nodes have a chance to beat"
            case .databaseRestartedRecently(let startedAt, let from):
                return "no node declared dead yet: PostgreSQL started at \(Self.clock(startedAt)) and the leader waits until \(Self.clock(from)) (--dead-after) so that nodes reconnect and beat"
            }
        }

        static func clock(_ date: Date) -> String { DeadNodeReaper.clock(date, in: .current) }
    }

    public enum Sweep: Sendable, Equatable {
        case reaped(Reaping)
        case tooSoon(TooSoon)
    }

    public var lease: LeaderLease
    /// The zone of the times in run error messages (the leader's local zone).
    public var timeZone: TimeZone

    public init(lease: LeaderLease, timeZone: TimeZone = .current) {
        self.lease = lease
        self.timeZone = timeZone
    }

    /// Wait after the declaration before a retry: `--retry-grace`, and never less than the part of
    /// self-fence + kill grace that `--dead-after` does not already cover.
    public static func retryGrace(_ timings: ClusterTimings) -> Int64 {
        max(timings.retryGrace.seconds, timings.selfFenceAfter.seconds + timings.killGrace.seconds - timings.deadAfter.seconds)
    }

    /// One sweep under the leader's term `epoch`. `.fenced` when that term is over: nothing changed.
    public func sweep(_ session: PostgresSession, epoch: Int64) async throws -> Fenced<Sweep> {
        let deadAfter = lease.timings.deadAfter.seconds
        let grace = Self.retryGrace(lease.timings)
        return try await lease.fencedWrite(session, epoch: epoch, doing: "declaring silent nodes dead") {
            let guardRows = try await session.run("""
                SELECT now(), acquired_at, pg_postmaster_start_time(),
                       acquired_at + \(deadAfter) * interval '1 second',
                       pg_postmaster_start_time() + \(deadAfter) * interval '1 second',
                       now() + \(grace) * interval '1 second'
                FROM lease WHERE role = \(lease.role) AND holder = \(lease.holder) AND epoch = \(epoch)
                """, doing: "declaring silent nodes dead: reading the lease and the server's start")
            // The fenced check just read this row under FOR SHARE: it is there.
            let (now, acquiredAt, startedAt, electedFrom, restartedFrom, retryFrom) =
                try guardRows[0].decode((Date, Date, Date, Date, Date, Date).self)
            if now < electedFrom { return .tooSoon(.electedRecently(acquiredAt: acquiredAt, reapFrom: electedFrom)) }
            if now < restartedFrom { return .tooSoon(.databaseRestartedRecently(startedAt: startedAt, reapFrom: restartedFrom)) }

            let declaredRows = try await session.run("""
                UPDATE node SET state = 'dead'
                WHERE state = 'alive' AND heartbeat_at < now() - \(deadAfter) * interval '1 second'
                RETURNING incarnation, node_name, heartbeat_at
                """, doing: "declaring silent nodes dead")
            let declared = try declaredRows.map { row in
                let (incarnation, name, lastHeartbeat) = try row.decode((UUID, String, Date).self)
                return DeclaredNode(incarnation: incarnation, name: name, lastHeartbeat: lastHeartbeat)
            }
            // Every dead node that still owns a running run, not only those declared now: a
            // sweep that ended before interrupting them (a deposed leader's, rolled back with it,
            // or an operator marking a node dead by hand) must not leave them running forever.
            let owners = try await session.run("""
                SELECT DISTINCT n.incarnation, n.node_name, n.heartbeat_at FROM node n JOIN run r ON r.owner_node = n.incarnation
                WHERE n.state = 'dead' AND r.state = 'running'
                """, doing: "finding runs of dead nodes")
            var interrupted: [InterruptedRun] = []
            for row in owners {
                let (incarnation, name, lastHeartbeat) = try row.decode((UUID, String, Date).self)
                interrupted += try await interruptRuns(of: DeclaredNode(incarnation: incarnation, name: name, lastHeartbeat: lastHeartbeat), session)
            }
            return .reaped(Reaping(declared: declared.sorted { $0.name < $1.name }, interrupted: interrupted.sorted { $0.runID < $1.runID },
                                   declaredAt: now, retryNotBefore: retryFrom))
        }
    }

    /// The declared node's running runs become `interrupted`. The claim is kept, to show which
    /// claim lost the run; `RunClaims.finish` needs the run `running`, so the old owner's late
    /// result is refused.
    private func interruptRuns(of node: DeclaredNode, _ session: PostgresSession) async throws -> [InterruptedRun] {
        let message = "node \(node.name) (incarnation \(node.incarnation.uuidString.lowercased())) stopped heartbeating at \(Self.clock(node.lastHeartbeat, in: timeZone)); run interrupted by the leader and retried on another node if the job's retry policy allows; check that node's journal (journalctl -u renkeid) and the target system before rerunning"
        let rows = try await session.run("""
            UPDATE run r SET state = 'interrupted', finished_at = now(), error_class = 'interrupted', error_message = \(message),
              failed_step = (SELECT name FROM step s WHERE s.run_id = r.id AND s.state = 'running' ORDER BY position LIMIT 1)
            WHERE owner_node = \(node.incarnation) AND state = 'running'
            RETURNING id, job, logical_time, attempt
            """, doing: "interrupting the runs of node \(node.name)")
        let runs = try rows.map { row in
            let (id, job, logicalTime, attempt) = try row.decode((Int64, String, Int64, Int).self)
            return InterruptedRun(runID: id, job: job, logicalTime: logicalTime, attempt: attempt, node: node.name)
        }.sorted { $0.runID < $1.runID }
        guard !runs.isEmpty else { return runs }
        let ids = runs.map(\.runID)
        try await session.run("""
            UPDATE step SET state = 'interrupted', error_class = 'interrupted', finished_at = now(),
              message = 'interrupted: the node that ran it stopped heartbeating'
            WHERE run_id = ANY(\(ids)) AND state = 'running'
            """, doing: "interrupting the steps of node \(node.name)")
        try await session.run("UPDATE step SET state = 'not_run' WHERE run_id = ANY(\(ids)) AND state = 'pending'",
                              doing: "interrupting the steps of node \(node.name)")
        return runs
    }

    /// HH:MM:SS and the zone's abbreviation, for messages an operator reads.
    static func clock(_ date: Date, in zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "HH:mm:ss zzz"
        return formatter.string(from: date)
    }
}
