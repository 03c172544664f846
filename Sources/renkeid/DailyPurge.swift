import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

extension Renkeid {
    /// `--retention 90` (days) or `--retention 90d` (any duration); nil when it is neither.
    static func retention(_ text: String) -> JobDuration? {
        if let days = Int64(text), days > 0, days <= 36_600 { return JobDuration(seconds: days * 86_400) }
        return try? JobDuration.parse(text)
    }
}

extension Daemon {
    /// Retention, each day at `purgeAt` (03:00) local time, beside the loop and not in it: the job files are
    /// read again for their `retention:`, directories are deleted on this task, and the store's
    /// writes go through its one writer like every other. Ends when the daemon stops.
    func purgeDaily() async {
        while !Task.isCancelled {
            let now = Date()
            let wait = Self.nextPurge(after: now, at: purgeAt).timeIntervalSince(now)
            do { try await Task.sleep(for: .seconds(wait)) } catch { return }
            await purgeOnce()
        }
    }

    func purgeOnce() async {
        let purge = Purge(catalog: JobLoader.load(directory: locations.jobs), defaultRetention: retention, store: store, state: StateDirectory(locations.state))
        let entry = AuditEntry(uid: Int64(getuid()), user: "renkeid", pid: Int64(getpid()), request: "{\"operation\":\"purge\",\"by\":\"daily retention\"}",
                               reason: nil, result: "")
        do {
            _ = try await purge.run(dryRun: false, requester: entry, logger: logger)
        } catch {
            logger.error("the daily purge of old runs failed (it is tried again tomorrow at \(purgeAt); renkeictl purge does it now): \(error)")
        }
    }

    /// The next `at` (03:00) in the machine's zone strictly after `now`.
    static func nextPurge(after now: Date, at: TimeOfDay = TimeOfDay("03:00")!) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: MachineTimeZone.identifier) ?? .current
        return calendar.nextDate(after: now, matching: DateComponents(hour: at.hour, minute: at.minute, second: at.second), matchingPolicy: .nextTime)
            ?? now.addingTimeInterval(86_400)
    }
}
