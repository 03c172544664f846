import Foundation
import RenkeiCore
import RenkeiPostgres

/// `renkeictl status --store postgresql:…`: the cluster as the shared database has it (nodes,
/// leader, each node's runs), read straight from PostgreSQL, so it answers from any machine even
/// when no renkeid runs on this one. Ages are the database clock's; `status` hands over here.
enum ClusterStatusCommand {
    /// The PostgreSQL store that `--store` or `RENKEI_STORE` names; nil when neither names one
    /// (a SQLite store's status is its renkeid's, asked through the control socket as before).
    static func address(store: String?) throws -> PostgresAddress? {
        try PostgresStoreChoice.address(store: store, command: "status")
    }

    static func run(_ address: PostgresAddress, json: Bool) async throws {
        let status: ClusterStatus
        do {
            status = try await PostgresSession.with(address, applicationName: "renkeictl status") { try await ClusterStatus.read($0) }
        } catch let problem as PostgresProblem {
            throw PostgresStoreChoice.failure(problem, command: "status", address: address)
        }
        if json {
            print(try JSONOutput.encode(ClusterStatusJSON(status, store: address.description)))
        } else {
            for line in lines(status, store: address.description) { print(SafeText.visible(line)) }
        }
    }

    /// The text for the operator (`ClusterStatus.lines`): the same on a node's control socket.
    static func lines(_ status: ClusterStatus, store: String) -> [String] {
        status.lines(store: store)
    }

    /// The first 8 hex digits, as `git` shortens a hash: enough to tell incarnations apart by eye.
    static func short(_ incarnation: UUID) -> String { String(incarnation.uuidString.lowercased().prefix(8)) }
}

/// `status --store … --json`; field names are stable.
struct ClusterStatusJSON: Encodable {
    struct RunJSON: Encodable {
        var id: Int64
        var job: String
        var logical_time: String
        var since: String?
        var running_seconds: Int64?

        init(_ run: ClusterStatus.RunningRun) {
            id = run.id
            job = run.job
            logical_time = run.logicalTime.iso8601
            since = RunSummary.isoTime(run.since)
            running_seconds = run.runningFor
        }
    }

    struct NodeJSON: Encodable {
        var name: String
        var incarnation: String
        var host: String?
        var pid: Int32?
        var state: String
        var leader: Bool
        var started_at: String?
        var heartbeat_age_seconds: Int64
        var runs: [RunJSON]
    }

    struct LeaseJSON: Encodable {
        var node: String?
        var incarnation: String
        var epoch: Int64
        var acquired_at: String?
        var expires_at: String?
        /// Negative: expired that many seconds ago.
        var expires_in_seconds: Int64
        var current: Bool
    }

    var store: String
    var database_time: String?
    /// The scheduler lease, current or not; null when never taken. `leader` is its node while current.
    var lease: LeaseJSON?
    var leader: String?
    var nodes: [NodeJSON]
    var unowned_runs: [RunJSON]
    var queued: Int64
    var queued_due: Int64

    init(_ status: ClusterStatus, store: String) {
        self.store = store
        database_time = RunSummary.isoTime(status.databaseTime)
        let leader = status.leader
        self.leader = leader?.name
        lease = status.lease.map { lease in
            LeaseJSON(node: lease.holderName, incarnation: lease.holder.uuidString.lowercased(), epoch: lease.epoch,
                      acquired_at: RunSummary.isoTime(lease.acquiredAt), expires_at: RunSummary.isoTime(lease.expiresAt),
                      expires_in_seconds: lease.expiresIn, current: lease.isCurrent)
        }
        nodes = status.nodes.map { node in
            NodeJSON(name: node.name, incarnation: node.incarnation.uuidString.lowercased(), host: node.host, pid: node.pid, state: node.state,
                     leader: node.incarnation == leader?.incarnation, started_at: RunSummary.isoTime(node.startedAt),
                     heartbeat_age_seconds: node.heartbeatAge, runs: node.runs.map(RunJSON.init))
        }
        unowned_runs = status.unownedRuns.map(RunJSON.init)
        queued = status.queued
        queued_due = status.queuedDue
    }
}
