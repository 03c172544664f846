import Testing
@testable import RenkeiCore

/// The core's notify effects, event by event: a failed attempt that a retry follows is not told,
/// the final failure is, and the send's failure comes back as a retry at the policy's time.
@Suite struct DaemonCoreNotifyTests {
    static let start = Instant(secondsSinceEpoch: 1_796_083_200)
    static let tick = JobName("tick")!

    func core() throws -> DaemonCore {
        var core = DaemonCore(scheduler: Scheduler(maxConcurrent: 4))
        let yaml = "schedule: \"*:*:0/10\"\nretry: { limit: 1, delay: 2s }\nsteps:\n  - name: a\n    run: [\"/bin/false\"]\n"
        let job = try JobFileParser.parse(file: "tick.yaml", name: "tick", bytes: Array(yaml.utf8)).get()
        core.scheduler.add(job, schedule: job.jobSchedule(machineZone: "UTC"), lastSlot: nil, now: Self.start)
        var settings = NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host"))
        settings.retry = RetryPolicy(limit: 3, delay: JobDuration(seconds: 60))
        core.notifications.configure(settings, jobs: [:], zones: [:], machineZone: "UTC", now: Self.start)
        return core
    }

    func facts(_ run: Int64, attempt: Int) -> NoticeRun {
        NoticeRun(job: Self.tick, run: RunID(rawValue: run), logicalTime: "2026-12-01T00:00:10Z", logicalDate: "2026-12-01", state: .failed,
                  errorClass: .exit, errorMessage: "exit status 1", failedStep: "a", attempt: attempt, trigger: attempt == 1 ? .schedule : .retry,
                  since: "2026-12-01T00:00:11Z")
    }

    func notices(_ effects: [DaemonEffect]) -> [Notice] {
        effects.compactMap { if case .notify(let notice) = $0 { notice } else { nil } }
    }

    @Test func theAttemptARetryFollowsIsQuietTheFinalFailureIsToldAndAFailedSendComesBack() throws {
        var core = try core()
        let t = Self.start
        _ = core.handle(.tick, now: t + .seconds(10))
        _ = core.handle(.runStarted(job: Self.tick, runID: RunID(1)), now: t + .seconds(10))
        let first = core.handle(.runEnded(job: Self.tick, .recorded(runID: RunID(1), state: .failed, facts: facts(1, attempt: 1))), now: t + .seconds(11))
        #expect(first.contains { if case .retryScheduled = $0 { true } else { false } })
        #expect(notices(first).isEmpty, "a retry follows")

        let retry = core.handle(.tick, now: t + .seconds(13))
        #expect(retry.contains { if case .start(let run) = $0 { run.trigger == .retry } else { false } })
        _ = core.handle(.runStarted(job: Self.tick, runID: RunID(2)), now: t + .seconds(13))
        let last = core.handle(.runEnded(job: Self.tick, .recorded(runID: RunID(2), state: .failed, facts: facts(2, attempt: 2))), now: t + .seconds(14))
        let told = try #require(notices(last).first)
        #expect(told.run == RunID(2) && told.event == "failed")

        let failed = core.handle(.notificationEnded(told, failure: "sendmail exited 75"), now: t + .seconds(15))
        #expect(failed == [.notificationFailed(told, message: "sendmail exited 75", retryAt: t + .seconds(75))])
        #expect(core.nextWakeUp(now: t + .seconds(15))! <= t + .seconds(75))
        var again = told
        again.attempt = 2
        #expect(notices(core.handle(.tick, now: t + .seconds(75))) == [again])
        #expect(core.handle(.notificationEnded(again, failure: nil), now: t + .seconds(76)).isEmpty)
        #expect(core.notifications.failing == nil)
    }
}
