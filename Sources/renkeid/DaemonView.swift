import Foundation
import RenkeiCore
import RenkeiRuntime

/// What the daemon looks like at one moment: its core (scheduler, runs, storage, lifecycle) and the
/// job definitions in force. A copy (cheap: the collections are shared until changed), so that the
/// control socket reads it off the loop, and `STATUS=` and `renkeictl status` say the same.
struct DaemonView: Sendable {
    let core: DaemonCore
    let jobs: [JobName: LoadedJob]
    /// Each job's zone (`zone(of:machineZone:)`), worked out when the jobs are loaded.
    let zones: [JobName: String]
    let machineZone: String

    /// A job's zone: its schedule's, its own, or the machine's.
    func zoneName(of name: JobName) -> String { zones[name] ?? machineZone }

    static func zone(of job: Job, machineZone: String) -> String {
        job.jobSchedule(machineZone: machineZone)?.effectiveZone.identifier ?? job.timezone ?? machineZone
    }

    func logical(_ planned: PlannedRun) -> LogicalTime {
        LogicalTime(planned.logicalTime, zoneIdentifier: zoneName(of: planned.job))
    }

    /// One line: runs, queue, storage, lifecycle, the next slot ("2 running, 0 queued; next: …").
    var statusLine: String {
        var text = "\(core.running.count) running, \(core.scheduler.queued) queued"
        let waiting = core.chains.waits.values.reduce(0) { $0 + $1.count }
        if waiting > 0 { text += ", \(waiting) waiting for upstreams" }
        if let problem = core.storage.problem, case .failing(_, let since, _, _, _) = core.storage {
            let unrecorded = core.unrecorded.isEmpty ? "" : ", \(core.unrecorded.count) run end(s) not yet recorded"
            text += "; STORAGE FAILING since \(Self.clock(since)): \(problem.summary)\(unrecorded); no run starts until it can be written"
        }
        if let failing = notificationsFailing { text += "; NOTIFICATIONS \(failing)" }
        switch core.lifecycle {
        case .serving: break
        case .stopping, .stoppingNow: text += "; stopping"
        case .restartNeeded: text += "; stopping to be restarted"
        }
        if core.lifecycle == .serving, core.storage == .writable, let next = core.scheduler.nextSlot() {
            let zone = ZoneRules.named(zoneName(of: next.job)) ?? .utc
            let iso = LogicalTime.iso8601(next.runAt.secondsSinceEpoch, in: zone)
            text += "; next: \(next.job) at \(iso.prefix(16).replacingOccurrences(of: "T", with: " "))"
        }
        return text
    }

    /// "failing since 06:31:02: /usr/sbin/sendmail exited 75 — 3 waiting", while sends fail.
    var notificationsFailing: String? {
        guard let failing = core.notifications.failing else { return nil }
        let waiting = core.notifications.waitingCount
        return "failing since \(Self.clock(failing.since)): \(failing.message) — \(waiting) waiting to be sent again"
    }

    /// "06:31:02" in the machine's zone, for the status line.
    static func clock(_ instant: Instant) -> String {
        let zone = ZoneRules.named(MachineTimeZone.identifier) ?? .utc
        let iso = LogicalTime.iso8601(instant.secondsSinceEpoch, in: zone)
        return String(iso.dropFirst(11).prefix(8))
    }
}
