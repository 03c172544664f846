import Testing
@testable import RenkeiCore

/// Drives a `Scheduler` through simulated time: runs take as long as `behaviour` says and end as
/// it says, and every action is logged as a line a test can compare.
struct Simulation {
    var scheduler: Scheduler
    var now: Instant
    var log: [String] = []
    var nextRunID: Int64 = 1
    var active: [(run: PlannedRun, id: RunID, endsAt: Instant, state: RunState)] = []
    /// How long a run takes and how it ends.
    var behaviour: (PlannedRun) -> (minutes: Int64, state: RunState) = { _ in (1, .succeeded) }

    init(maxConcurrent: Int = 8, start: Instant) {
        scheduler = Scheduler(maxConcurrent: maxConcurrent)
        now = start
    }

    static func minute(_ m: Int64) -> Duration { .seconds(m * 60) }

    static func clock(_ t: Instant) -> String {
        let local = BrokenDownTime(localSeconds: t.secondsSinceEpoch)
        return "\(local.month + 1)/\(local.day) \(pad(local.hour)):\(pad(local.minute))" + (local.second == 0 ? "" : ":\(pad(local.second))")
    }

    mutating func add(_ yaml: String, name: String = "job", lastSlot: Instant? = nil, zone: String = "UTC") throws {
        let job = try JobFileParser.parse(file: "\(name).yaml", name: name, bytes: Array(yaml.utf8)).get()
        scheduler.add(job, schedule: job.jobSchedule(machineZone: zone), lastSlot: lastSlot, now: now)
    }

    mutating func perform(_ actions: [SchedulerAction]) {
        for action in actions {
            switch action {
            case .start(let run):
                let (minutes, state) = behaviour(run)
                let id = RunID(nextRunID)
                nextRunID += 1
                active.append((run, id, now + Self.minute(minutes), state))
                scheduler.runStarted(run)
                let retry = run.retryOf.map { " of #\($0)" } ?? ""
                log.append("\(Self.clock(now)) start #\(id) \(run.job)@\(Self.clock(run.logicalTime)) \(run.trigger.rawValue) attempt \(run.attempt)\(retry)")
            case .recordSkipped(let job, let logicalTime, let reason):
                log.append("\(Self.clock(now)) skipped \(job)@\(Self.clock(logicalTime)): \(reason)")
            case .recordMissed(let job, let logicalTime, _):
                log.append("\(Self.clock(now)) missed \(job)@\(Self.clock(logicalTime))")
            case .catchUpStarted(let job, let late, let running):
                log.append("\(Self.clock(now)) catch-up \(job): \(late) late, \(running) to run")
            case .retryScheduled:
                break
            case .deadlineBreached(let breach):
                log.append("\(Self.clock(now)) breach \(breach.job)@\(Self.clock(breach.logicalTime)) \(breach.kind.rawValue)")
            }
        }
    }

    /// Runs simulated time until `end`, waking exactly when the scheduler or a run needs it.
    mutating func run(until end: Instant) {
        perform(scheduler.advance(to: now))
        while true {
            let wake = scheduler.nextWakeUp(now: now)
            let runEnd = active.map(\.endsAt).min()
            guard let next = [wake, runEnd].compactMap({ $0 }).min(), next <= end else { break }
            now = max(now, next)
            while let index = active.firstIndex(where: { $0.endsAt <= now }) {
                let ended = active.remove(at: index)
                log.append("\(Self.clock(now)) end #\(ended.id) \(ended.state.rawValue)")
                perform(scheduler.runEnded(ended.run, runID: ended.id, state: ended.state, now: now))
            }
            perform(scheduler.advance(to: now))
        }
        now = end
    }
}

/// `utc(…)` as the scheduler reads it.
private func at(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Instant {
    Instant(microsecondsSinceEpoch: utc(year, month, day, hour, minute, second))
}

private let steps = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n"

@Suite struct SchedulerTests {
    @Test func slotsRunOnTimeWithTheirLogicalTime() throws {
        var sim = Simulation(start: at(2026, 1, 5))
        try sim.add("schedule: \"*-*-* 06:30\"\n" + steps)
        sim.run(until: at(2026, 1, 7, 12))
        #expect(sim.log == [
            "1/5 06:30 start #1 job@1/5 06:30 schedule attempt 1", "1/5 06:31 end #1 succeeded",
            "1/6 06:30 start #2 job@1/6 06:30 schedule attempt 1", "1/6 06:31 end #2 succeeded",
            "1/7 06:30 start #3 job@1/7 06:30 schedule attempt 1", "1/7 06:31 end #3 succeeded",
        ])
    }

    @Test func overlapSkipRecordsTheSkippedSlots() throws {
        var sim = Simulation(start: at(2026, 1, 5, 6))
        sim.behaviour = { _ in (25, .succeeded) }
        try sim.add("schedule: \"*:0/10\"\noverlap: skip\n" + steps)
        sim.run(until: at(2026, 1, 5, 6, 35))
        #expect(sim.log == [
            "1/5 06:10 start #1 job@1/5 06:10 schedule attempt 1",
            "1/5 06:20 skipped job@1/5 06:20: the run for 2026-01-05T06:10:00+00:00 was still running (overlap: skip)",
            "1/5 06:30 skipped job@1/5 06:30: the run for 2026-01-05T06:10:00+00:00 was still running (overlap: skip)",
            "1/5 06:35 end #1 succeeded",
        ])
    }

    @Test func overlapQueueRunsTheSlotWhenThePreviousEnds() throws {
        var sim = Simulation(start: at(2026, 1, 5, 6))
        sim.behaviour = { _ in (15, .succeeded) }
        try sim.add("schedule: \"*:0/10\"\noverlap: queue\n" + steps)
        sim.run(until: at(2026, 1, 5, 6, 30))
        #expect(sim.log == [
            "1/5 06:10 start #1 job@1/5 06:10 schedule attempt 1",
            "1/5 06:25 end #1 succeeded",
            "1/5 06:25 start #2 job@1/5 06:20 schedule attempt 1",
        ])
    }

    @Test func atMostMaxConcurrentRunsTheRestInSlotOrder() throws {
        var sim = Simulation(maxConcurrent: 2, start: at(2026, 1, 5, 6))
        sim.behaviour = { _ in (10, .succeeded) }
        try sim.add("schedule: \"*-*-* 06:30\"\n" + steps, name: "a")
        try sim.add("schedule: \"*-*-* 06:30\"\n" + steps, name: "b")
        try sim.add("schedule: \"*-*-* 06:20\"\n" + steps, name: "c")
        try sim.add("schedule: \"*-*-* 06:25\"\n" + steps, name: "d")
        sim.run(until: at(2026, 1, 5, 7))
        #expect(sim.log == [
            "1/5 06:20 start #1 c@1/5 06:20 schedule attempt 1",
            "1/5 06:25 start #2 d@1/5 06:25 schedule attempt 1",
            "1/5 06:30 end #1 succeeded",
            "1/5 06:30 start #3 a@1/5 06:30 schedule attempt 1",
            "1/5 06:35 end #2 succeeded",
            "1/5 06:35 start #4 b@1/5 06:30 schedule attempt 1",
            "1/5 06:40 end #3 succeeded",
            "1/5 06:45 end #4 succeeded",
        ])
    }

    @Test func operatorsRunsStartInTheOrderAskedOnePerJobAndEachOnce() throws {
        var sim = Simulation(maxConcurrent: 2, start: at(2026, 1, 5, 6))
        sim.behaviour = { _ in (10, .succeeded) }
        for name in ["a", "b", "c"] { try sim.add(steps, name: name) }
        // Asked a second apart: a, a, b, c, a, b.
        for (index, name) in ["a", "a", "b", "c", "a", "b"].enumerated() {
            let asked = sim.now + .seconds(index)
            sim.perform(sim.scheduler.submit(PlannedRun(job: JobName(name)!, logicalTime: asked, trigger: .manual, dueAt: asked,
                                                        queuedRunID: RunID(Int64(index + 100)))))
        }
        sim.run(until: at(2026, 1, 5, 7))
        #expect(sim.log.filter { $0.contains("start") } == [
            "1/5 06:00 start #1 a@1/5 06:00 manual attempt 1",
            "1/5 06:00 start #2 b@1/5 06:00:02 manual attempt 1",
            "1/5 06:10 start #3 a@1/5 06:00:01 manual attempt 1",
            "1/5 06:10 start #4 c@1/5 06:00:03 manual attempt 1",
            "1/5 06:20 start #5 a@1/5 06:00:04 manual attempt 1",
            "1/5 06:20 start #6 b@1/5 06:00:05 manual attempt 1",
        ])
        #expect(sim.scheduler.queued == 0 && sim.scheduler.running == 0)
    }

    @Test(arguments: [
        ("latest", "24h", ["1/8 12:00 missed job@1/6 06:30", "1/8 12:00 missed job@1/7 06:30", "1/8 12:00 catch-up job: 3 late, 1 to run",
                           "1/8 12:00 start #1 job@1/8 06:30 catch-up attempt 1"]),
        ("latest", "3d", ["1/8 12:00 missed job@1/6 06:30", "1/8 12:00 missed job@1/7 06:30", "1/8 12:00 catch-up job: 3 late, 1 to run",
                          "1/8 12:00 start #1 job@1/8 06:30 catch-up attempt 1"]),
        ("all", "3d", ["1/8 12:00 catch-up job: 3 late, 3 to run", "1/8 12:00 start #1 job@1/6 06:30 catch-up attempt 1",
                       "1/8 12:01 end #1 succeeded", "1/8 12:01 start #2 job@1/7 06:30 catch-up attempt 1",
                       "1/8 12:02 end #2 succeeded", "1/8 12:02 start #3 job@1/8 06:30 catch-up attempt 1"]),
        ("all", "36h", ["1/8 12:00 missed job@1/6 06:30", "1/8 12:00 catch-up job: 3 late, 2 to run",
                        "1/8 12:00 start #1 job@1/7 06:30 catch-up attempt 1", "1/8 12:01 end #1 succeeded",
                        "1/8 12:01 start #2 job@1/8 06:30 catch-up attempt 1"]),
        ("none", "3d", ["1/8 12:00 missed job@1/6 06:30", "1/8 12:00 missed job@1/7 06:30", "1/8 12:00 missed job@1/8 06:30",
                        "1/8 12:00 catch-up job: 3 late, 0 to run"]),
    ])
    func catchUpAfterDowntime(policy: String, window: String, expected: [String]) throws {
        // Last recorded slot: 1/5 06:30; the daemon comes back on 1/8 at noon.
        var sim = Simulation(start: at(2026, 1, 8, 12))
        try sim.add("schedule: \"*-*-* 06:30\"\ncatch_up: \(policy)\ncatch_up_window: \(window)\n" + steps, lastSlot: at(2026, 1, 5, 6, 30))
        sim.run(until: at(2026, 1, 8, 12, 5))
        #expect(sim.log.filter { !$0.hasSuffix("end #1 succeeded") || policy == "all" }.prefix(expected.count) == expected[...])
    }

    @Test func aJobSeenForTheFirstTimeHasNoPastSlots() throws {
        var sim = Simulation(start: at(2026, 1, 8, 12))
        try sim.add("schedule: hourly\ncatch_up: all\n" + steps)
        sim.run(until: at(2026, 1, 8, 12, 30))
        #expect(sim.log.isEmpty)
    }

    @Test func failedRunsAreRetriedWithBackoffThenGiveUp() throws {
        var sim = Simulation(start: at(2026, 1, 5, 6))
        sim.behaviour = { _ in (1, .failed) }
        try sim.add("schedule: \"*-*-* 06:30\"\nretry: { limit: 2, delay: 1m, backoff: 3 }\n" + steps)
        sim.run(until: at(2026, 1, 5, 7))
        #expect(sim.log == [
            "1/5 06:30 start #1 job@1/5 06:30 schedule attempt 1", "1/5 06:31 end #1 failed",
            "1/5 06:32 start #2 job@1/5 06:30 retry attempt 2 of #1", "1/5 06:33 end #2 failed",
            "1/5 06:36 start #3 job@1/5 06:30 retry attempt 3 of #2", "1/5 06:37 end #3 failed",
        ])
    }

    @Test func aRetryThatSucceedsEndsTheChain() throws {
        var sim = Simulation(start: at(2026, 1, 5, 6))
        sim.behaviour = { run in (1, run.attempt == 1 ? .timedOut : .succeeded) }
        try sim.add("schedule: \"*-*-* 06:30\"\nretry: { limit: 3, delay: 2m }\n" + steps)
        sim.run(until: at(2026, 1, 5, 7))
        #expect(sim.log.suffix(2) == ["1/5 06:33 start #2 job@1/5 06:30 retry attempt 2 of #1", "1/5 06:34 end #2 succeeded"])
    }

    @Test func deadlinesAreReportedButDoNotStopARun() throws {
        var sim = Simulation(maxConcurrent: 1, start: at(2026, 1, 5, 6))
        sim.behaviour = { run in (run.job.rawValue == "blocker" ? 40 : 70, .succeeded) }
        try sim.add("schedule: \"*-*-* 06:25\"\n" + steps, name: "blocker")
        try sim.add("schedule: \"*-*-* 06:30\"\ndeadline: { start_by: \"06:45\", finish_by: \"07:30\" }\n" + steps, name: "link")
        sim.run(until: at(2026, 1, 5, 9))
        #expect(sim.log == [
            "1/5 06:25 start #1 blocker@1/5 06:25 schedule attempt 1",
            "1/5 06:45 breach link@1/5 06:30 start_by",
            "1/5 07:05 end #1 succeeded",
            "1/5 07:05 start #2 link@1/5 06:30 schedule attempt 1",
            "1/5 07:30 breach link@1/5 06:30 finish_by",
            "1/5 08:15 end #2 succeeded",
        ])
    }

    @Test func closedDaysSkipOrMove() throws {
        // Friday 2026-05-01, then Golden Week: 5/2–5/6 closed.
        var skip = Simulation(start: at(2026, 4, 30, 12))
        try skip.add("schedule: \"*-*-* 09:00\"\ntimezone: UTC\nclosed_days: jp-municipal\n" + steps)
        skip.run(until: at(2026, 5, 3, 12))
        #expect(skip.log == [
            "5/1 09:00 start #1 job@5/1 09:00 schedule attempt 1", "5/1 09:01 end #1 succeeded",
            "5/2 09:00 skipped job@5/2 09:00: closed day (on_closed_day: skip)",
            "5/3 09:00 skipped job@5/3 09:00: closed day (on_closed_day: skip)",
        ])
        var after = Simulation(start: at(2026, 5, 5, 12))
        after.behaviour = { _ in (1, .succeeded) }
        try after.add("schedule: \"*-*-* 09:00\"\ntimezone: UTC\nclosed_days: jp-municipal\non_closed_day: after\noverlap: queue\n" + steps,
                      lastSlot: at(2026, 5, 5, 9))
        after.run(until: at(2026, 5, 7, 10))
        #expect(after.log == [
            "5/7 09:00 start #1 job@5/6 09:00 schedule attempt 1", "5/7 09:01 end #1 succeeded",
            "5/7 09:01 start #2 job@5/7 09:00 schedule attempt 1", "5/7 09:02 end #2 succeeded",
        ])
    }

    @Test func aClockJumpForwardIsDowntimeAndAJumpBackNeverRunsASlotTwice() throws {
        var sim = Simulation(start: at(2026, 1, 5, 5))
        try sim.add("schedule: \"*-*-* 06:30\"\n" + steps)
        sim.run(until: at(2026, 1, 5, 5, 10))
        // The clock jumps from 05:10 to 09:00.
        sim.now = at(2026, 1, 5, 9)
        sim.run(until: at(2026, 1, 5, 9, 5))
        #expect(sim.log == ["1/5 09:00 catch-up job: 1 late, 1 to run", "1/5 09:00 start #1 job@1/5 06:30 catch-up attempt 1", "1/5 09:01 end #1 succeeded"])
        // Back to 06:00 and forward past 06:30 again: nothing more.
        sim.now = at(2026, 1, 5, 6)
        sim.run(until: at(2026, 1, 5, 7))
        #expect(sim.log.count == 3)
    }

    @Test func aChangedScheduleNeverFiresASlotThatWasNotDue() throws {
        var sim = Simulation(start: at(2026, 1, 5, 6))
        try sim.add("schedule: \"*-*-* 06:30\"\n" + steps)
        sim.run(until: at(2026, 1, 5, 8))
        // Reloaded at 08:00 with a 07:00 schedule: 07:00 today was never due under either.
        let job = try JobFileParser.parse(file: "job.yaml", name: "job", bytes: Array("schedule: \"*-*-* 07:00\"\n\(steps)".utf8)).get()
        sim.scheduler.update(job, schedule: job.jobSchedule(machineZone: "UTC"), now: sim.now)
        sim.run(until: at(2026, 1, 6, 8))
        #expect(sim.log == [
            "1/5 06:30 start #1 job@1/5 06:30 schedule attempt 1", "1/5 06:31 end #1 succeeded",
            "1/6 07:00 start #2 job@1/6 07:00 schedule attempt 1", "1/6 07:01 end #2 succeeded",
        ])
    }

    @Test func aRemovedJobsRunFinishesAndNothingMoreIsScheduled() throws {
        var sim = Simulation(start: at(2026, 1, 5, 6))
        sim.behaviour = { _ in (30, .failed) }
        try sim.add("schedule: \"*:0/10\"\nretry: { limit: 5, delay: 1m }\n" + steps)
        sim.run(until: at(2026, 1, 5, 6, 15))
        sim.scheduler.remove(JobName("job")!)
        sim.run(until: at(2026, 1, 5, 8))
        #expect(sim.log == ["1/5 06:10 start #1 job@1/5 06:10 schedule attempt 1", "1/5 06:40 end #1 failed"])
        #expect(sim.scheduler.jobNames.isEmpty)
    }

    @Test func aLockedJobRecordsTheSlotSkipped() throws {
        var scheduler = Scheduler()
        let job = try JobFileParser.parse(file: "j.yaml", name: "j", bytes: Array("schedule: minutely\n\(steps)".utf8)).get()
        scheduler.add(job, schedule: job.jobSchedule(machineZone: "UTC"), lastSlot: nil, now: at(2026, 1, 5))
        let actions = scheduler.advance(to: at(2026, 1, 5, 0, 1))
        guard case .start(let run) = actions.first else { Issue.record("no start: \(actions)"); return }
        let after = scheduler.runRefused(run, reason: "renkeictl run --local (pid 42) holds the job's lock")
        #expect(after == [.recordSkipped(job: run.job, logicalTime: run.logicalTime, reason: "renkeictl run --local (pid 42) holds the job's lock")])
        #expect(scheduler.running == 0)
    }

    @Test func interruptedRunsFromACrashAreRetriedWhenAttemptsRemain() throws {
        var sim = Simulation(start: at(2026, 1, 5, 7))
        try sim.add("schedule: \"*-*-* 06:30\"\nretry: { limit: 1, delay: 30s }\n" + steps, lastSlot: at(2026, 1, 5, 6, 30))
        sim.scheduler.recovered(job: JobName("job")!, logicalTime: at(2026, 1, 5, 6, 30), attempt: 1, runID: RunID(99), now: sim.now)
        sim.scheduler.recovered(job: JobName("job")!, logicalTime: at(2026, 1, 4, 6, 30), attempt: 2, runID: RunID(98), now: sim.now)
        sim.run(until: at(2026, 1, 5, 7, 5))
        #expect(sim.log == ["1/5 07:00:30 start #1 job@1/5 06:30 retry attempt 2 of #99", "1/5 07:01:30 end #1 succeeded"])
    }

    @Test func hoursOfPerSecondSlotsStayFast() throws {
        var sim = Simulation(start: at(2026, 1, 5))
        sim.behaviour = { _ in (0, .succeeded) }
        try sim.add("schedule: \"*:*:0/2\"\n" + steps)
        sim.run(until: at(2026, 1, 5, 1))
        #expect(sim.log.filter { $0.contains(" start ") }.count == 1_800)
    }
}

@Suite struct SchedulerRestartTests {
    @Test func slotsThatPassedWhileTheDaemonWasDownAreLateHoweverRecent() throws {
        // Down for only five seconds: still downtime, handled by catch_up.
        var sim = Simulation(start: at(2026, 1, 5, 6, 0, 5))
        try sim.add("schedule: \"*:*:0/2\"\ncatch_up: none\n" + "steps:\n  - name: a\n    run: [\"/bin/true\"]\n", lastSlot: at(2026, 1, 5, 6))
        sim.run(until: at(2026, 1, 5, 6, 0, 6))
        #expect(sim.log == [
            "1/5 06:00:05 missed job@1/5 06:00:02", "1/5 06:00:05 missed job@1/5 06:00:04", "1/5 06:00:05 catch-up job: 2 late, 0 to run",
            "1/5 06:00:06 start #1 job@1/5 06:00:06 schedule attempt 1",
        ])
    }
}

/// The scheduler's time and run identity: where seconds and microseconds meet, they meet here.
@Suite struct InstantTests {
    @Test func secondsAreTheWholeSecondAtOrBefore() {
        #expect(Instant(secondsSinceEpoch: 42).microsecondsSinceEpoch == 42_000_000)
        #expect(Instant(microsecondsSinceEpoch: 1_999_999).secondsSinceEpoch == 1)
        #expect(Instant(microsecondsSinceEpoch: -1).secondsSinceEpoch == -1, "floor, not truncation, before 1970")
    }

    @Test func durationsMoveItToTheMicrosecond() {
        let t = Instant(secondsSinceEpoch: 100)
        #expect(t + .seconds(10) == Instant(secondsSinceEpoch: 110))
        #expect(t - .milliseconds(1_500) == Instant(microsecondsSinceEpoch: 98_500_000))
        #expect((t + .milliseconds(1_500)) - t == .microseconds(1_500_000))
        #expect(Instant(secondsSinceEpoch: 90) - t == .seconds(-10))
        #expect(t + .nanoseconds(999) == t, "finer than a microsecond is dropped")
        #expect(t - .seconds(1) < t && Instant.distantPast < t && t < .distantFuture)
    }

    @Test func aStoredSecondAndALogicalTimeMeetTheInstantOnTheSecond() {
        let slot = LogicalTime(Instant(microsecondsSinceEpoch: 1_796_083_200_250_000), zoneIdentifier: "Asia/Tokyo")
        #expect(slot.epochSeconds == 1_796_083_200)
        #expect(slot.instant == Instant(secondsSinceEpoch: 1_796_083_200))
        #expect(slot.iso8601 == "2026-12-01T09:00:00+09:00")
        #expect("\(Instant(secondsSinceEpoch: 1_796_083_200))" == "2026-12-01T00:00:00Z")
        #expect("\(Instant(microsecondsSinceEpoch: 1_796_083_200_000_250))" == "2026-12-01T00:00:00.000250Z")
    }

    @Test func aRunIDPrintsAsItsNumber() {
        #expect("run \(RunID(42))" == "run 42")
        #expect(RunID(7).rawValue == 7 && RunID(7) < RunID(8))
    }
}
