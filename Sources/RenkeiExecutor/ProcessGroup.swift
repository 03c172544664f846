import Foundation
import RenkeiCore

/// The session a step's process leads (pgid = its pid). Renkei signals the group, never the
/// process alone: a shell's children and their children must end with it.
struct ProcessGroup: Sendable {
    let id: pid_t

    /// Whether no live process is left in the group. Zombies do not count: they run nothing, and
    /// whoever adopted them (init, or a subreaper) reaps them, which `kill(-pgid, 0)` cannot tell.
    var isEmpty: Bool {
        if kill(-id, 0) != 0 && errno == ESRCH { return true }
        return livingMembers().isEmpty
    }

    /// Pids of the group's processes that are not zombies, from `/proc/PID/stat`.
    func livingMembers() -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var members: [pid_t] = []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm) ": state, ppid, pgrp, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, pid_t(fields[2]) == id, fields[0] != "Z", fields[0] != "X" else { continue }
            members.append(pid)
        }
        return members
    }

    func signal(_ signal: Int32) {
        _ = kill(-id, signal)
    }

    /// SIGTERM, then SIGKILL to whatever is left after `grace`. Returns whether SIGKILL was needed.
    @discardableResult
    func terminate(grace: JobDuration) async -> Bool {
        if isEmpty { return false }
        signal(SIGTERM)
        if await waitUntilEmpty(within: grace.duration) { return false }
        signal(SIGKILL)
        _ = await waitUntilEmpty(within: .seconds(5))
        return true
    }

    /// The same as `terminate`, for callers that cannot wait asynchronously (start-up recovery).
    @discardableResult
    func terminateNow(grace: JobDuration) -> Bool {
        if isEmpty { return false }
        signal(SIGTERM)
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: grace.duration)
        while !isEmpty && clock.now < end { usleep(20_000) }
        if isEmpty { return false }
        signal(SIGKILL)
        return true
    }

    /// Polls until the group is empty; the processes are not our children, so there is nothing to wait on.
    func waitUntilEmpty(within limit: Duration) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: limit)
        while !isEmpty {
            if clock.now >= end { return false }
            // Not Task.sleep: this must finish even in a cancelled task.
            usleep(20_000)
            await Task.yield()
        }
        return true
    }
}
