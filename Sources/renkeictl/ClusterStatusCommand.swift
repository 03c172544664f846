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

    /// The text for the operator: the leader first, then a heading line per node with its runs.
    static func lines(_ status: ClusterStatus, store: String) -> [String] {
        var lines = ["cluster on \(store) (database time \(clock(status.databaseTime)))"]
        let names = Dictionary(status.nodes.map { ($0.incarnation, $0.name) }, uniquingKeysWith: { first, _ in first })
        switch status.lease {
        case nil:
            lines.append("no leader: the scheduler lease was never taken on this database; no slot is recorded until a node takes it")
        case let lease? where lease.isCurrent:
            let who = lease.holderName ?? names[lease.holder] ?? "an unknown node (incarnation \(short(lease.holder)))"
            lines.append("leader: node \(who), epoch \(lease.epoch), lease expires in \(lease.expiresIn) s (held since \(clock(lease.acquiredAt)))")
        case let lease?:
            let who = lease.holderName ?? names[lease.holder] ?? "incarnation \(short(lease.holder))"
            lines.append("no leader: the scheduler lease expired \(-lease.expiresIn) s ago (epoch \(lease.epoch), last held by node \(who)); no slot is recorded until a node takes it: check renkeid on the nodes (systemctl status renkeid; journalctl -u renkeid)")
        }
        if status.nodes.isEmpty {
            lines.append("no nodes: no renkeid has registered on this database")
        }
        let leader = status.leader?.incarnation
        for node in status.nodes {
            var heading = "node \(node.name): \(node.state)"
            if node.incarnation == leader { heading += ", leader" }
            heading += ", last heartbeat \(node.heartbeatAge) s ago"
            var place: [String] = []
            if let host = node.host { place.append("host \(host)") }
            if let pid = node.pid { place.append("pid \(pid)") }
            place.append("incarnation \(short(node.incarnation))")
            place.append("started \(clock(node.startedAt))")
            lines.append(heading + " (" + place.joined(separator: ", ") + ")")
            if node.state == "dead" && !node.runs.isEmpty {
                lines.append("  warning: node \(node.name) was declared dead but still owns \(node.runs.count == 1 ? "a running run" : "\(node.runs.count) running runs"); the leader's reaper marks \(node.runs.count == 1 ? "it" : "them") interrupted and retries per the job's policy")
            }
            if node.runs.isEmpty { lines.append("  no running runs") }
            for run in node.runs { lines.append("  running: " + describe(run)) }
        }
        for run in status.unownedRuns { lines.append("running without a listed node: " + describe(run)) }
        lines.append("queued: \(status.queued) run\(status.queued == 1 ? "" : "s") (\(status.queuedDue) due)")
        return lines
    }

    private static func describe(_ run: ClusterStatus.RunningRun) -> String {
        var text = "run \(run.id) \(run.job) for \(run.logicalTime.iso8601)"
        if let since = run.since { text += ", since \(clock(since))" }
        if let seconds = run.runningFor { text += " (\(seconds) s)" }
        return text
    }

    /// The first 8 hex digits, as `git` shortens a hash: enough to tell incarnations apart by eye.
    static func short(_ incarnation: UUID) -> String { String(incarnation.uuidString.lowercased().prefix(8)) }

    private static func clock(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = .current
        return formatter.string(from: date)
    }
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
