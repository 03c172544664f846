import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

/// Who hears of what: the loop's side of notifications (the rules are RenkeiCore's `Notifications`).
extension Daemon.Loop {
    /// What a notice may say about a run: its record's own fields, never output nor environment.
    static func facts(_ record: RunRecord, job: JobName) -> NoticeRun? {
        guard let id = record.id else { return nil }
        let logical = record.logical
        let end = record.finishedAt ?? Date()
        return NoticeRun(job: job, run: RunID(id), logicalTime: logical.iso8601, logicalDate: logical.date, state: record.state,
                        errorClass: record.errorClass, errorMessage: record.errorMessage, failedStep: record.failedStep,
                        attempt: record.attempt, trigger: record.trigger,
                        since: LogicalTime(Instant(end), zoneIdentifier: record.logicalZone).iso8601)
    }

    /// Tells the core which failures the store holds unresolved, and which of them a notice
    /// went out about: at start (a restart forgets no incident) and before each reminder (one
    /// an operator resolved meanwhile is not listed). Without `notify:` there is nothing to read.
    mutating func readUnresolvedFailures() {
        guard site.notify != nil else { return }
        do {
            var failures: [(facts: NoticeRun, told: Bool)] = []
            for record in try daemon.store.unresolvedFailures() {
                guard let name = JobName(record.job), jobs[name] != nil, let facts = Self.facts(record, job: name) else { continue }
                let told = try daemon.store.failureWasTold(job: name.rawValue, logicalDate: facts.logicalDate)
                failures.append((facts, told))
            }
            core.notifications.unresolvedInStore(failures)
        } catch {
            logger.warning("the unresolved failures could not be read for notifications (\(error)); reminders list what this renkeid saw")
        }
    }

    /// Tells the core who is told what: renkei.yaml's `notify:` and each job's own.
    mutating func configureNotifications() {
        var own: [JobName: JobNotify] = [:]
        for (name, loaded) in jobs { own[name] = loaded.job.notify }
        core.notifications.configure(site.notify, jobs: own, zones: zones, machineZone: machineZone, now: Self.now())
    }

    /// Sends the notice off the loop (a hanging sendmail is killed after notify.timeout),
    /// records the try, and reports back `notificationEnded`.
    func sendNotice(_ notice: Notice) {
        let inbox = daemon.inbox, store = daemon.store, logger = daemon.logger
        guard let settings = site.notify else {
            logger.notice("the \(notice.event) notice\(Self.about(notice)) is dropped: renkei.yaml no longer has notify:")
            inbox.send(.notificationEnded(notice, failure: nil))
            return
        }
        let notifier = Notifier(settings: settings)
        Task {
            let failure = await notifier.send(notice)
            let at = Date()
            let rows = Self.notificationRows(notice, recipients: notifier.recipients(notice), at: at, failure: failure)
            if failure == nil {
                logger.event(.notificationSent, .notice, "the \(notice.event) notice\(Self.about(notice)) was sent by \(notice.channel.name) to \(notifier.recipients(notice))",
                             Self.noticeFields(notice))
            }
            do {
                try await store.recordNotification(rows)
            } catch {
                logger.error("the \(notice.event) notice\(Self.about(notice)) could not be recorded: \(error)")
            }
            inbox.send(.notificationEnded(notice, failure: failure))
        }
    }

    static func notificationRows(_ notice: Notice, recipients: String, at: Date, failure: String?) -> [RunStore.NotificationRow] {
        func row(_ run: RunID?, _ job: JobName?, _ date: String?) -> RunStore.NotificationRow {
            RunStore.NotificationRow(runID: run?.rawValue, job: job?.rawValue, logicalDate: date, event: notice.event, channel: notice.channel.name,
                                     recipients: recipients, at: at, result: failure == nil ? "ok" : "failed", message: failure, attempt: notice.attempt)
        }
        switch notice.subject {
        case .run(_, let facts): return [row(facts.run, facts.job, facts.logicalDate)]
        case .deadline(let facts): return [row(facts.run, facts.job, facts.logicalDate)]
        case .storage: return [row(nil, nil, nil)]
        case .reminder(let open): return open.map { row($0.run, $0.job, $0.logicalDate) }
        }
    }

    /// " about juki-to-fukushi run 412" (or nothing).
    static func about(_ notice: Notice) -> String {
        switch notice.subject {
        case .run(_, let facts): " about \(facts.job) run \(facts.run)"
        case .deadline(let facts): " about \(facts.job) \(facts.logicalDate)"
        case .storage: " about the run store"
        case .reminder(let open): " listing \(open.count) unresolved failure(s)"
        }
    }

    static func noticeFields(_ notice: Notice) -> [String: String] {
        var fields = ["RENKEI_NOTIFY_EVENT": notice.event, "RENKEI_NOTIFY_CHANNEL": notice.channel.name, EventField.attempt: String(notice.attempt)]
        switch notice.subject {
        case .run(_, let facts):
            fields[EventField.job] = facts.job.rawValue
            fields[EventField.runID] = "\(facts.run)"
        case .deadline(let facts): fields[EventField.job] = facts.job.rawValue
        case .storage, .reminder: break
        }
        return fields
    }
}
