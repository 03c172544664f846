import Testing
@testable import RenkeiCore

/// Link chains in the daemon's core: a downstream's slot waits for its upstreams' runs of the same
/// business date, starts when they succeeded, gives up with `upstream` after `after_wait`; a job
/// without a schedule runs once its upstreams succeeded.
@Suite struct ChainTests {
    static let second = Duration.seconds(1)
    /// 2026-12-01 00:00:00 JST (2026-11-30 15:00 UTC).
    static let midnight = Instant(secondsSinceEpoch: 1_796_050_800)

    static func at(_ hour: Int, _ minute: Int = 0) -> Instant { midnight + .seconds(hour * 3600 + minute * 60) }

    struct Setup {
        var core = DaemonCore(scheduler: Scheduler(maxConcurrent: 4))
        var nextRun: Int64 = 1

        mutating func add(_ name: String, _ yaml: String, lastSlot: Instant? = nil) throws {
            let job = try JobFileParser.parse(file: "\(name).yaml", name: name, bytes: Array(("timezone: Asia/Tokyo\n" + yaml).utf8)).get()
            core.scheduler.add(job, schedule: job.jobSchedule(machineZone: "UTC"), lastSlot: lastSlot, now: lastSlot ?? ChainTests.midnight)
            jobs[job.name] = job
            var links: [JobName: Chains.Link] = [:], zones: [JobName: ZoneRules] = [:]
            for (name, job) in jobs {
                let zone = ZoneRules.named("Asia/Tokyo")!
                zones[name] = zone
                if !job.after.isEmpty {
                    links[name] = Chains.Link(upstreams: job.after, wait: .seconds(job.afterWait.seconds), scheduled: job.schedule != nil, zone: zone)
                }
            }
            core.chains.define(links, zones: zones)
        }
        var jobs: [JobName: Job] = [:]

        /// Feeds `event`; answers `start`s with `runStarted` and `recordWaiting`s with
        /// `waitRecorded` at once, as the shell would; returns every effect.
        mutating func handle(_ event: DaemonEvent, at now: Instant) -> [DaemonEffect] {
            var effects = core.handle(event, now: now)
            var index = 0
            while index < effects.count {
                switch effects[index] {
                case .start(let planned):
                    let id = planned.queuedRunID ?? RunID(next())
                    effects += core.handle(.runStarted(job: planned.job, runID: id), now: now)
                case .recordWaiting(let planned, _, let until):
                    effects += core.handle(.waitRecorded(planned, run: RunID(next()), until: until), now: now)
                default:
                    break
                }
                index += 1
            }
            return effects
        }

        mutating func next() -> Int64 {
            defer { nextRun += 1 }
            return nextRun
        }

        func runID(of job: String) -> RunID? { core.running[JobName(job)!]?.runID }
    }

    func started(_ effects: [DaemonEffect]) -> [String] {
        effects.compactMap { if case .start(let run) = $0 { "\(run.job)/\(run.trigger.rawValue)" } else { nil } }
    }

    @Test func aScheduledDownstreamWaitsForItsUpstreamOfTheSameDateThenStarts() throws {
        var setup = Setup()
        try setup.add("export", "schedule: \"*-*-* 06:30\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("import", "schedule: \"*-*-* 06:00\"\nafter: [export]\nafter_wait: 2h\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        // 06:00: import's slot; export has not run today: it waits, on record, holding no place.
        let six = setup.handle(.tick, at: Self.at(6))
        #expect(started(six).isEmpty)
        let waiting = try #require(six.first { if case .recordWaiting = $0 { true } else { false } })
        guard case .recordWaiting(let planned, let upstreams, let until) = waiting else { return }
        #expect(planned.job == JobName("import")! && upstreams == [JobName("export")!] && until == Self.at(8))
        #expect(setup.core.running.isEmpty)
        // 06:30: export runs and succeeds; import's waiting run starts with its row and its slot.
        #expect(started(setup.handle(.tick, at: Self.at(6, 30))) == ["export/schedule"])
        let exportRun = try #require(setup.runID(of: "export"))
        let ended = setup.handle(.runEnded(job: JobName("export")!, .recorded(runID: exportRun, state: .succeeded)), at: Self.at(6, 31))
        #expect(started(ended) == ["import/schedule"])
        #expect(ended.contains(.upstreamsSucceeded(job: JobName("import")!, run: RunID(1), date: BusinessDate(year: 2026, month: 12, day: 1))))
        #expect(setup.core.running[JobName("import")!]?.planned.logicalTime == Self.at(6))
        #expect(setup.core.chains.waits.values.allSatisfy { $0.isEmpty })
    }

    @Test func anUpstreamThatFailsMakesTheWaitGiveUpWithUpstreamNamingIt() throws {
        var setup = Setup()
        try setup.add("export", "schedule: \"*-*-* 06:30\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("import", "schedule: \"*-*-* 06:00\"\nafter: [export]\nafter_wait: 1h\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        _ = setup.handle(.tick, at: Self.at(6))
        _ = setup.handle(.tick, at: Self.at(6, 30))
        let exportRun = try #require(setup.runID(of: "export"))
        #expect(started(setup.handle(.runEnded(job: JobName("export")!, .recorded(runID: exportRun, state: .failed)), at: Self.at(6, 31))).isEmpty)
        #expect(setup.core.nextWakeUp(now: Self.at(6, 31)) == Self.at(7))
        let seven = setup.handle(.tick, at: Self.at(7))
        let failed = try #require(seven.first { if case .recordUpstreamFailed = $0 { true } else { false } })
        guard case .recordUpstreamFailed(let run, let job, let message) = failed else { return }
        #expect(run == RunID(1) && job == JobName("import")!)
        #expect(message == "upstream not done for 2026-12-01 after waiting 1h: export failed (run \(exportRun); renkeictl show \(exportRun))")
    }

    @Test func anUpstreamThatNeverRanIsNamedSo() throws {
        var setup = Setup()
        try setup.add("export", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("import", "schedule: \"*-*-* 06:00\"\nafter: [export]\nafter_wait: 30m\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        _ = setup.handle(.tick, at: Self.at(6))
        let given = setup.handle(.tick, at: Self.at(6, 30))
        #expect(given.contains { if case .recordUpstreamFailed(_, _, let message) = $0 { message.hasSuffix("export has not run") } else { false } })
    }

    @Test func aJobWithoutAScheduleRunsOnceWhenAllItsUpstreamsSucceededWithTheirLogicalTime() throws {
        var setup = Setup()
        try setup.add("juki", "schedule: \"*-*-* 06:30\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("kokuho", "schedule: \"*-*-* 07:00\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("stats", "after: [juki, kokuho]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        _ = setup.handle(.tick, at: Self.at(6, 30))
        let juki = try #require(setup.runID(of: "juki"))
        #expect(started(setup.handle(.runEnded(job: JobName("juki")!, .recorded(runID: juki, state: .succeeded)), at: Self.at(6, 31))).isEmpty,
                "kokuho has not succeeded yet")
        _ = setup.handle(.tick, at: Self.at(7))
        let kokuho = try #require(setup.runID(of: "kokuho"))
        let ended = setup.handle(.runEnded(job: JobName("kokuho")!, .recorded(runID: kokuho, state: .succeeded)), at: Self.at(7, 1))
        #expect(started(ended) == ["stats/after"])
        #expect(setup.core.running[JobName("stats")!]?.planned.logicalTime == Self.at(7), "the latest of its upstreams' logical times")
        // A rerun of an upstream that succeeds again does not start it a second time that day.
        let statsRun = try #require(setup.runID(of: "stats"))
        _ = setup.handle(.runEnded(job: JobName("stats")!, .recorded(runID: statsRun, state: .succeeded)), at: Self.at(7, 2))
        let rerun = PlannedRun(job: JobName("juki")!, logicalTime: Self.at(6, 30), trigger: .rerun, dueAt: Self.at(8), queuedRunID: RunID(99))
        _ = setup.handle(.runQueued(rerun), at: Self.at(8))
        #expect(started(setup.handle(.runEnded(job: JobName("juki")!, .recorded(runID: RunID(99), state: .succeeded)), at: Self.at(8, 1))).isEmpty)
    }

    @Test func anUpstreamThatSucceededEarlierLetsTheSlotStartAtOnceAndOtherDatesDoNotCount() throws {
        var setup = Setup()
        try setup.add("export", "schedule: \"*-*-* 06:30\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("import", "schedule: \"*-*-* 09:00\"\nafter: [export]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        // Yesterday's success does not count for today.
        setup.core.chains.ended(JobName("export")!, logical: Self.at(-24 + 6, 30), run: RunID(50), state: .succeeded)
        _ = setup.handle(.tick, at: Self.at(6, 30))
        let export = try #require(setup.runID(of: "export"))
        _ = setup.handle(.runEnded(job: JobName("export")!, .recorded(runID: export, state: .succeeded)), at: Self.at(6, 31))
        #expect(started(setup.handle(.tick, at: Self.at(9))) == ["import/schedule"])
    }

    @Test func aWaitRestoredAfterARestartStillStartsOrGivesUp() throws {
        var setup = Setup()
        try setup.add("export", "schedule: \"*-*-* 06:30\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        // The store's newest slot of import is the waiting row's.
        try setup.add("import", "schedule: \"*-*-* 06:00\"\nafter: [export]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n", lastSlot: Self.at(6))
        // As the daemon restores a row `waiting` from the store.
        let planned = PlannedRun(job: JobName("import")!, logicalTime: Self.at(6), trigger: .schedule, dueAt: Self.at(6))
        _ = setup.handle(.waitRecorded(planned, run: RunID(40), until: Self.at(12)), at: Self.at(6, 10))
        _ = setup.handle(.tick, at: Self.at(6, 30))
        let export = try #require(setup.runID(of: "export"))
        let ended = setup.handle(.runEnded(job: JobName("export")!, .recorded(runID: export, state: .succeeded)), at: Self.at(6, 31))
        #expect(started(ended) == ["import/schedule"])
        #expect(setup.core.running[JobName("import")!]?.runID == RunID(40))
    }

    @Test func anOperatorCancelsAWaitingRun() throws {
        var setup = Setup()
        try setup.add("export", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("import", "schedule: \"*-*-* 06:00\"\nafter: [export]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        _ = setup.handle(.tick, at: Self.at(6))
        #expect(setup.handle(.cancelRequested(runID: RunID(1), by: "sato"), at: Self.at(6, 5)) == [.recordCancelled(runID: RunID(1), job: JobName("import")!, by: "sato")])
        #expect(setup.core.chains.nextExpiry == nil)
    }

    @Test func aPlanStartsEachRerunAfterItsUpstreamsAndAFailureStopsTheChainThere() throws {
        var setup = Setup()
        for (name, after) in [("a", ""), ("b", "after: [a]\n"), ("c", "after: [a]\n"), ("d", "after: [b, c]\n")] {
            try setup.add(name, after + "steps:\n  - name: s\n    run: [\"/bin/true\"]\n")
        }
        func planned(_ job: String, _ run: Int64) -> PlannedRun {
            PlannedRun(job: JobName(job)!, logicalTime: Self.at(6), trigger: .rerun, dueAt: Self.at(9), queuedRunID: RunID(run))
        }
        // The first rerun (a, run 10) is queued; b (11), c (12) wait for it, d (13) for b and c.
        #expect(started(setup.handle(.runQueued(planned("a", 10)), at: Self.at(9))) == ["a/rerun"])
        let waits = [PlanWait(planned: planned("b", 11), after: [RunID(10): JobName("a")!]),
                     PlanWait(planned: planned("c", 12), after: [RunID(10): JobName("a")!]),
                     PlanWait(planned: planned("d", 13), after: [RunID(11): JobName("b")!, RunID(12): JobName("c")!])]
        #expect(setup.handle(.planRecorded(waits, ended: [:]), at: Self.at(9)).isEmpty)
        let aDone = setup.handle(.runEnded(job: JobName("a")!, .recorded(runID: RunID(10), state: .succeeded)), at: Self.at(9, 1))
        #expect(started(aDone) == ["b/rerun", "c/rerun"], "the chain itself starts nothing more: the plan runs them")
        #expect(started(setup.handle(.runEnded(job: JobName("b")!, .recorded(runID: RunID(11), state: .succeeded)), at: Self.at(9, 2))).isEmpty,
                "d waits for c too")
        let cFailed = setup.handle(.runEnded(job: JobName("c")!, .recorded(runID: RunID(12), state: .failed)), at: Self.at(9, 3))
        #expect(started(cFailed).isEmpty)
        #expect(cFailed.contains(.recordNotRun(run: RunID(13), job: JobName("d")!,
                                               message: "not run: the rerun of c before it (run 12) ended failed; renkeictl show 12")))
        #expect(setup.core.planWaits.isEmpty)
    }

    @Test func aJobWithoutAScheduleWhoseStartWasLostInARestartStartsWhenTheChainsAreRestored() throws {
        var setup = Setup()
        try setup.add("export", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        try setup.add("import", "after: [export]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        // As restored from the store: export succeeded today; import never ran; yesterday both ran.
        setup.core.chains.ended(JobName("export")!, logical: Self.at(6), run: RunID(5), state: .succeeded)
        setup.core.chains.ended(JobName("export")!, logical: Self.at(-18), run: RunID(1), state: .succeeded)
        setup.core.chains.ended(JobName("import")!, logical: Self.at(-18), run: RunID(2), state: .succeeded)
        let resumed = setup.core.resumeChains(now: Self.at(7))
        #expect(started(resumed) == ["import/after"])
        #expect(setup.core.running[JobName("import")!]?.planned.logicalTime == Self.at(6))
        #expect(setup.core.resumeChains(now: Self.at(7)).isEmpty, "once")
    }
}
