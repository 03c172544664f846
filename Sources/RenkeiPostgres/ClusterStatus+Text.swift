import Foundation
import RenkeiCore

extension ClusterStatus {
    /// What `renkeictl status --store` prints, and what a node's control socket answers to
    /// `status`: the leader first, then a heading line per node with its runs.
    public func lines(store: String) -> [String] {
        let status = self
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

    private func describe(_ run: ClusterStatus.RunningRun) -> String {
        var text = "run \(run.id) \(run.job) for \(run.logicalTime.iso8601)"
        if let since = run.since { text += ", since \(clock(since))" }
        if let seconds = run.runningFor { text += " (\(seconds) s)" }
        return text
    }

    /// The first 8 hex digits, as `git` shortens a hash: enough to tell incarnations apart by eye.
    private func short(_ incarnation: UUID) -> String { String(incarnation.uuidString.lowercased().prefix(8)) }

    private func clock(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = .current
        return formatter.string(from: date)
    }
}
