import Testing
@testable import RenkeiCore

/// The daemon's decisions around a store that cannot be written, and around stopping, driven
/// event by event with a simulated clock: what starts, what waits, what is written and when.
@Suite struct DaemonCoreTests {
    /// 2026-12-01 00:00:00 UTC.
    static let start = Instant(secondsSinceEpoch: 1_796_083_200)
    static let disk = StorageProblem("the run store /s/renkei.db cannot be written: no space left", summary: "no space left on its file system")

    func core(_ yaml: String = "schedule: \"*:*:0/10\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n", now: Instant = start) throws -> DaemonCore {
        var core = DaemonCore(scheduler: Scheduler(maxConcurrent: 4))
        let job = try JobFileParser.parse(file: "tick.yaml", name: "tick", bytes: Array(yaml.utf8)).get()
        core.scheduler.add(job, schedule: job.jobSchedule(machineZone: "UTC"), lastSlot: nil, now: now)
        return core
    }

    /// The slots started, as times after `start`.
    func starts(_ effects: [DaemonEffect]) -> [Duration] {
        effects.compactMap { if case .start(let run) = $0 { return run.logicalTime - Self.start } else { return nil } }
    }

    @Test func aRunWhoseEndCannotBeWrittenIsClosedOnceTheStoreIsBackAndOutageSlotsAreRecorded() throws {
        var core = try core()
        let tick = JobName("tick")!
        // 00:00:10: the slot starts; its row exists.
        #expect(starts(core.handle(.tick, now: Self.start + .seconds(10))) == [.seconds(10)])
        _ = core.handle(.runStarted(job: tick, runID: RunID(7)), now: Self.start + .seconds(10))
        // Its end cannot be written: the disk is full.
        let outcome = RunOutcome(state: .succeeded)
        let lost = core.handle(.runEnded(job: tick, .notRecorded(runID: RunID(7), outcome: outcome, Self.disk)), now: Self.start + .seconds(11))
        #expect(lost == [.storageLost(Self.disk)])
        #expect(core.storage.problem == Self.disk)
        #expect(core.unrecorded[RunID(7)] == outcome)
        #expect(!core.mayStartRuns)
        // Slots pass and nothing starts; the core asks only for probes, with a growing wait.
        #expect(core.nextWakeUp(now: Self.start + .seconds(11)) == Self.start + .seconds(12))
        #expect(core.handle(.tick, now: Self.start + .seconds(12)) == [.probeStore])
        #expect(core.nextWakeUp(now: Self.start + .seconds(12)) == nil, "one probe at a time")
        #expect(core.handle(.storeProbed(Self.disk), now: Self.start + .seconds(13)) == [])
        #expect(core.nextWakeUp(now: Self.start + .seconds(13)) == Self.start + .seconds(15))
        #expect(core.handle(.tick, now: Self.start + .seconds(14)) == [], "not before the backoff")
        #expect(core.handle(.tick, now: Self.start + .seconds(15)) == [.probeStore])
        #expect(core.handle(.storeProbed(Self.disk), now: Self.start + .seconds(15)) == [])
        #expect(core.nextWakeUp(now: Self.start + .seconds(15)) == Self.start + .seconds(19))
        // An operator's run asked meanwhile waits in the queue.
        let manual = PlannedRun(job: tick, logicalTime: Self.start + .seconds(25), trigger: .manual, dueAt: Self.start + .seconds(25), queuedRunID: RunID(9))
        #expect(core.handle(.runQueued(manual), now: Self.start + .seconds(25)) == [])
        #expect(core.scheduler.queued == 1)
        // 00:00:45: the disk has room. The run's end is written, the slots of 20, 30, 40 are late:
        // catch_up latest runs the newest, the others are recorded missed for the store's sake.
        _ = core.handle(.tick, now: Self.start + .seconds(45))
        let back = core.handle(.storeProbed(nil), now: Self.start + .seconds(45))
        #expect(back.first == .storageBack(since: Self.start + .seconds(11), unrecorded: 1, slots: 0))
        #expect(back.contains(.recordEnd(runID: RunID(7), job: tick, outcome: outcome)))
        let missed = back.compactMap { effect -> Duration? in
            if case .recordMissed(_, let time, let reason, true) = effect {
                #expect(reason.contains("the run store could not be written"))
                return time - Self.start
            }
            return nil
        }
        #expect(missed == [.seconds(20), .seconds(30)])
        // The operator's run was due first; one run per job, so it starts and the slot of 40 waits.
        #expect(starts(back) == [.seconds(25)])
        #expect(core.storage == .writable && core.unrecorded.isEmpty)
    }

    @Test func writesOfTheLoopWaitForTheStoreAndAreGivenBackInOrder() throws {
        var core = try core("schedule: \"*:*:0/10\"\noverlap: skip\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let tick = JobName("tick")!
        #expect(starts(core.handle(.tick, now: Self.start + .seconds(10))) == [.seconds(10)])
        let skip = DaemonEffect.recordSkipped(job: tick, logicalTime: Self.start + .seconds(20), reason: "the run for … was still running (overlap: skip)")
        // The skipped row of 00:00:20 fails to be written: held, and the store is failing.
        #expect(core.handle(.writeFailed(skip, Self.disk), now: Self.start + .seconds(21)) == [.storageLost(Self.disk)])
        // The running run ends and is recorded (the disk had room again for a moment): nothing starts.
        let ended = core.handle(.runEnded(job: tick, .recorded(runID: RunID(3), state: .succeeded)), now: Self.start + .seconds(22))
        #expect(starts(ended).isEmpty)
        _ = core.handle(.tick, now: Self.start + .seconds(23))
        let back = core.handle(.storeProbed(nil), now: Self.start + .seconds(23))
        #expect(back.prefix(2) == [.storageBack(since: Self.start + .seconds(21), unrecorded: 0, slots: 1), skip])
    }

    @Test func aRunThatLeftNoRowIsRecordedMissedForTheStoresSake() throws {
        var core = try core()
        let tick = JobName("tick")!
        _ = core.handle(.tick, now: Self.start + .seconds(10))
        let lost = core.handle(.runEnded(job: tick, .notRecorded(runID: nil, outcome: RunOutcome(state: .failed, errorClass: .storage), Self.disk)),
                               now: Self.start + .seconds(10))
        #expect(lost == [.storageLost(Self.disk)])
        #expect(core.running.isEmpty)
        _ = core.handle(.tick, now: Self.start + .seconds(11))
        let back = core.handle(.storeProbed(nil), now: Self.start + .seconds(11))
        #expect(back.contains { if case .recordMissed(tick, Self.start + .seconds(10), _, true) = $0 { true } else { false } })
    }

    @Test func aReplacedStoreStopsTheDaemonAndItsRuns() throws {
        var core = try core()
        let tick = JobName("tick")!
        _ = core.handle(.tick, now: Self.start + .seconds(10))
        let replaced = StorageProblem("another file has been put at its path", summary: "replaced", needsRestart: true)
        #expect(core.handle(.storeFailed(replaced), now: Self.start + .seconds(11)) == [.exitForRestart(replaced), .stop(job: tick, by: nil)])
        #expect(core.lifecycle == .restartNeeded)
        #expect(core.handle(.tick, now: Self.start + .seconds(20)) == [], "no probe: it can never be written again")
        let end = core.handle(.runEnded(job: tick, .notRecorded(runID: RunID(4), outcome: RunOutcome(state: .interrupted), replaced)), now: Self.start + .seconds(12))
        #expect(end.last == .stopped)
    }

    @Test func stoppingLetsRunsFinishThenStopsThemOnTheSecondSignal() throws {
        var core = try core()
        let tick = JobName("tick")!
        _ = core.handle(.tick, now: Self.start + .seconds(10))
        #expect(core.handle(.stopRequested(signal: "SIGTERM"), now: Self.start + .seconds(11)) == [])
        #expect(core.handle(.tick, now: Self.start + .seconds(30)) == [], "nothing starts while stopping")
        #expect(core.handle(.stopRequested(signal: "SIGTERM"), now: Self.start + .seconds(31)) == [.stop(job: tick, by: nil)])
        #expect(core.handle(.runEnded(job: tick, .recorded(runID: RunID(1), state: .interrupted)), now: Self.start + .seconds(32)).last == .stopped)
    }

    @Test func slotsWaitingForAPlaceWhenRenkeidStopsAreRecorded() throws {
        var core = DaemonCore(scheduler: Scheduler(maxConcurrent: 1))
        for name in ["a", "b"] {
            let job = try JobFileParser.parse(file: "\(name).yaml", name: name, bytes: Array("schedule: \"*:*:0/10\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n".utf8)).get()
            core.scheduler.add(job, schedule: job.jobSchedule(machineZone: "UTC"), lastSlot: nil, now: Self.start)
        }
        #expect(starts(core.handle(.tick, now: Self.start + .seconds(10))) == [.seconds(10)])
        let manual = PlannedRun(job: JobName("b")!, logicalTime: Self.start, trigger: .manual, dueAt: Self.start + .seconds(11), queuedRunID: RunID(8))
        _ = core.handle(.runQueued(manual), now: Self.start + .seconds(11))
        let stop = core.handle(.stopRequested(signal: "SIGTERM"), now: Self.start + .seconds(12))
        #expect(stop.count == 1)
        guard case .recordMissed(JobName("b")!, Self.start + .seconds(10), let reason, false) = stop.first else {
            Issue.record("\(stop)")
            return
        }
        #expect(reason.contains("stopped before the run's turn came"))
        #expect(core.scheduler.queued == 0)
    }

    @Test func anOperatorCancelsAQueuedRunOrARunningOne() throws {
        var core = try core()
        let tick = JobName("tick")!
        _ = core.handle(.tick, now: Self.start + .seconds(10))
        _ = core.handle(.runStarted(job: tick, runID: RunID(5)), now: Self.start + .seconds(10))
        let queued = PlannedRun(job: tick, logicalTime: Self.start, trigger: .manual, dueAt: Self.start + .seconds(11), queuedRunID: RunID(6))
        _ = core.handle(.runQueued(queued), now: Self.start + .seconds(11))
        #expect(core.handle(.cancelRequested(runID: RunID(6), by: "sato"), now: Self.start + .seconds(12)) == [.recordCancelled(runID: RunID(6), job: tick, by: "sato")])
        #expect(core.handle(.cancelRequested(runID: RunID(5), by: "sato"), now: Self.start + .seconds(12)) == [.stop(job: tick, by: "sato")])
        #expect(core.handle(.cancelRequested(runID: RunID(99), by: "sato"), now: Self.start + .seconds(12)) == [])
    }
}
