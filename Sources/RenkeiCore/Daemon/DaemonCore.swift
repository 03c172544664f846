/// renkeid's decisions, with no clock, no I/O and no processes: the `Scheduler` (which slot runs
/// when) plus what only a running daemon has — the runs in flight, whether the store can be
/// written, whether it is stopping. The daemon's loop feeds it one `DaemonEvent` at a time with
/// the time, and carries out the `DaemonEffect`s it answers, in order.
///
/// Rules it keeps, besides the scheduler's:
/// - while the store cannot be written, no run starts; every write it wants waits (`waiting`) and
///   is given back once a probe succeeds, with slots that came meanwhile run or recorded `missed`
///   per their `catch_up`, so that no run is left `running` and no slot without a row;
/// - a probe of the store is tried after 1 s, then with a doubling backoff up to 30 s;
/// - a store whose path names another file stops the daemon (`exitForRestart`);
/// - once stopping, nothing starts; `stopped` comes when no run is left.
public struct DaemonCore: Sendable {
    /// Which slot runs when; the daemon loads jobs into it directly.
    public var scheduler: Scheduler
    /// Which jobs wait for which, by business date; the daemon defines the links and restores
    /// what the store knows at start-up.
    public var chains = Chains()
    /// Reruns of `rerun --downstream` plans waiting for the reruns before them, by their run.
    public private(set) var planWaits: [RunID: PlanWait] = [:]
    /// Who is told what: the daemon configures it from renkei.yaml and the job files.
    public var notifications = Notifications()
    /// Jobs held by an operator; the daemon restores them from the store at start-up.
    public var holds: [JobName: Hold] = [:]
    /// Runs started and not ended, by job (a job runs once at a time).
    public private(set) var running: [JobName: ActiveRun] = [:]
    public private(set) var storage: Storage = .writable
    public private(set) var lifecycle: Lifecycle = .serving
    /// Writes held back while the store cannot be written, oldest first.
    public private(set) var waiting: [DaemonEffect] = []
    /// Runs that ended while their end could not be written, by run id: what their row will say.
    public private(set) var unrecorded: [RunID: RunOutcome] = [:]

    public struct ActiveRun: Sendable, Equatable {
        public let planned: PlannedRun
        /// Its row's id, once it has one.
        public var runID: RunID?
    }

    public enum Storage: Sendable, Equatable {
        case writable
        /// Writes fail since `since`; the next probe is at `nextProbe`, unless one is `probing`.
        case failing(StorageProblem, since: Instant, attempts: Int, nextProbe: Instant, probing: Bool)

        public var problem: StorageProblem? {
            if case .failing(let problem, _, _, _, _) = self { return problem }
            return nil
        }
    }

    public enum Lifecycle: Sendable, Equatable {
        case serving
        /// SIGTERM: running runs may finish within the grace.
        case stopping
        /// A second SIGTERM or the grace is over: running runs are being stopped.
        case stoppingNow
        /// The store's path names another file: stopping with status 1.
        case restartNeeded
    }

    /// The first probe after a failure, and the longest wait between two.
    public static let firstProbe: Duration = .seconds(1)
    public static let longestProbeWait: Duration = .seconds(30)

    public init(scheduler: Scheduler) {
        self.scheduler = scheduler
    }

    public var mayStartRuns: Bool { lifecycle == .serving && storage == .writable }

    /// The run of `runID` if it is running.
    public func runningRun(_ runID: RunID) -> ActiveRun? { running.values.first { $0.runID == runID } }

    // MARK: - Events

    public mutating func handle(_ event: DaemonEvent, now: Instant) -> [DaemonEffect] {
        switch event {
        case .tick:
            return tick(now) + notifications.due(now: now).map(DaemonEffect.notify)
        case .notificationEnded(let notice, let failure):
            switch notifications.sendEnded(id: notice.id, failure: failure, now: now) {
            case .sent: return []
            case .willRetry(let at): return [.notificationFailed(notice, message: failure ?? "", retryAt: at)]
            }
        case .stopRequested:
            return stop(now: lifecycle != .serving)
        case .graceOver:
            return stop(now: true)
        case .runQueued(let planned):
            return apply(scheduler.submit(planned), now: now)
        case .cancelRequested(let runID, let user):
            if let planned = scheduler.withdraw(queuedRunID: runID) {
                return hold(.recordCancelled(runID: runID, job: planned.job, by: user))
            }
            if let wait = planWaits.removeValue(forKey: runID) {
                return hold(.recordCancelled(runID: runID, job: wait.planned.job, by: user)) + planProgress(runID, state: .cancelled, now: now)
            }
            if let wait = chains.waits.values.flatMap(\.values).first(where: { $0.run == runID }) {
                _ = chains.removeWait(wait.planned.job, chains.date(of: wait.planned.job, at: wait.planned.logicalTime))
                return hold(.recordCancelled(runID: runID, job: wait.planned.job, by: user))
            }
            if let run = runningRun(runID) { return [.stop(job: run.planned.job, by: user)] }
            return []
        case .runStarted(let job, let runID):
            guard var run = running[job] else { return [] }
            run.runID = runID
            running[job] = run
            scheduler.runStarted(run.planned)
            return []
        case .runEnded(let job, let end):
            return runEnded(job, end, now: now)
        case .writeFailed(let write, let problem):
            waiting.append(write)
            return failing(problem, now: now)
        case .storeFailed(let problem):
            return failing(problem, now: now)
        case .storeProbed(let problem?):
            guard case .failing(_, let since, let attempts, _, _) = storage else { return [] }
            if problem.needsRestart { return restart(problem, now: now) }
            storage = .failing(problem, since: since, attempts: attempts + 1, nextProbe: now + Self.probeWait(after: attempts + 1), probing: false)
            return []
        case .storeProbed(nil):
            return recovered(now: now)
        case .planRecorded(let waits, let ended):
            var effects: [DaemonEffect] = []
            for wait in waits {
                planWaits[wait.planned.queuedRunID!] = wait
                // The plan runs it for that date: the chain does not start another.
                chains.ran(wait.planned.job, logical: wait.planned.logicalTime)
            }
            for (run, state) in ended.sorted(by: { $0.key < $1.key }) { effects += planProgress(run, state: state, now: now) }
            return effects
        case .holdRequested(let job, let hold):
            holds[job] = hold
            return [.recordHold(job: job, hold)]
        case .releaseRequested(let job, let user):
            guard holds.removeValue(forKey: job) != nil else { return [] }
            return [.recordRelease(job: job, by: user, expired: false)] + readyWaits(of: job, now: now)
        case .waitRecorded(let planned, let runID, let until):
            let wait = Chains.Wait(run: runID, planned: planned, until: until)
            chains.waiting(wait)
            // Its upstreams may have succeeded while its row was being written.
            let date = chains.date(of: planned.job, at: planned.logicalTime)
            return chains.missing(planned.job, date).isEmpty ? go(wait, now: now) : []
        }
    }

    /// When the loop should next send `tick`: the scheduler's next wake-up, or the next probe.
    public func nextWakeUp(now: Instant) -> Instant? {
        switch storage {
        case .failing(_, _, _, let nextProbe, let probing):
            return ([probing ? nil : nextProbe, notifications.nextWakeUp()]).compactMap { $0 }.min()
        case .writable:
            guard lifecycle == .serving else { return nil }
            return ([scheduler.nextWakeUp(now: now), chains.nextExpiry, notifications.nextWakeUp()] + holds.values.map(\.until)).compactMap { $0 }.min()
        }
    }

    static func probeWait(after attempts: Int) -> Duration {
        min(firstProbe * (1 << min(attempts, 10)), longestProbeWait)
    }

    // MARK: - Internals

    private mutating func tick(_ now: Instant) -> [DaemonEffect] {
        switch storage {
        case .failing(let problem, let since, let attempts, let nextProbe, let probing):
            guard !probing, now >= nextProbe, lifecycle != .restartNeeded else { return [] }
            storage = .failing(problem, since: since, attempts: attempts, nextProbe: nextProbe, probing: true)
            return [.probeStore]
        case .writable:
            guard lifecycle == .serving else { return [] }
            var effects: [DaemonEffect] = []
            for (job, hold) in holds.sorted(by: { $0.key < $1.key }) where hold.until.map({ $0 <= now }) == true {
                holds[job] = nil
                effects.append(.recordRelease(job: job, by: hold.by, expired: true))
                effects += readyWaits(of: job, now: now)
            }
            for wait in chains.expired(at: now) {
                let message = chains.whyUpstreamFailed(wait)
                _ = chains.removeWait(wait.planned.job, chains.date(of: wait.planned.job, at: wait.planned.logicalTime))
                chains.ended(wait.planned.job, logical: wait.planned.logicalTime, run: wait.run, state: .failed)
                effects += hold(.recordUpstreamFailed(run: wait.run, job: wait.planned.job, message: message))
                if let facts = upstreamFacts(wait, message: message, now: now) {
                    effects += notifications.runEnded(facts).map(DaemonEffect.notify)
                }
            }
            return effects + apply(scheduler.advance(to: now), now: now)
        }
    }

    /// A waiting run whose upstreams all succeeded joins the queue, with its row.
    private mutating func go(_ wait: Chains.Wait, now: Instant) -> [DaemonEffect] {
        // A held job's waiting run goes on waiting; its release lets it go.
        guard holds[wait.planned.job] == nil else { return [] }
        _ = chains.removeWait(wait.planned.job, chains.date(of: wait.planned.job, at: wait.planned.logicalTime))
        var planned = wait.planned
        planned.queuedRunID = wait.run
        planned.dueAt = now
        return [.upstreamsSucceeded(job: planned.job, run: wait.run, date: chains.date(of: planned.job, at: planned.logicalTime))]
            + apply(scheduler.submit(planned), now: now)
    }

    /// Run `run` of a plan ended in `state`: the reruns waiting for it go once all they wait for
    /// succeeded; if it did not succeed, they (and theirs, down the chain) are recorded not run.
    private mutating func planProgress(_ run: RunID, state: RunState, now: Instant) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        for (id, wait) in planWaits.sorted(by: { $0.key < $1.key }) where wait.after[run] != nil {
            let upstream = wait.after[run]!
            if state == .succeeded {
                var waiting = wait
                waiting.after[run] = nil
                if waiting.after.isEmpty {
                    planWaits[id] = nil
                    var planned = waiting.planned
                    planned.dueAt = now
                    effects += apply(scheduler.submit(planned), now: now)
                } else {
                    planWaits[id] = waiting
                }
            } else {
                planWaits[id] = nil
                effects += hold(.recordNotRun(run: id, job: wait.planned.job,
                                              message: "not run: the rerun of \(upstream) before it (run \(run)) ended \(state.rawValue); renkeictl show \(run)"))
                effects += planProgress(id, state: .cancelled, now: now)
            }
        }
        return effects
    }

    /// After a restart, once the chains are restored: jobs without a schedule whose upstreams
    /// succeeded for a date while their own start was lost start now.
    public mutating func resumeChains(now: Instant) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        for (job, logical) in chains.owedUnscheduled() {
            chains.ran(job, logical: logical)
            effects.append(.upstreamsSucceeded(job: job, run: nil, date: chains.date(of: job, at: logical)))
            effects += apply(scheduler.submit(PlannedRun(job: job, logicalTime: logical, trigger: .after, dueAt: now)), now: now)
        }
        return effects
    }

    /// Waiting runs of `job` whose upstreams have all succeeded go (after a release).
    private mutating func readyWaits(of job: JobName, now: Instant) -> [DaemonEffect] {
        let ready = (chains.waits[job] ?? [:]).filter { chains.missing(job, $0.key).isEmpty }.values.sorted { $0.run < $1.run }
        return ready.flatMap { go($0, now: now) }
    }

    /// `job`'s run for `logical` succeeded: its downstreams waiting for that date may go, and
    /// those without a schedule start.
    private mutating func upstreamSucceeded(_ job: JobName, logical: Instant, now: Instant) -> [DaemonEffect] {
        let date = chains.date(of: job, at: logical)
        let ready = chains.ready(after: job, date)
        var effects: [DaemonEffect] = []
        for wait in ready.waits { effects += go(wait, now: now) }
        for (downstream, downstreamLogical) in ready.unscheduled {
            chains.ran(downstream, logical: downstreamLogical)
            effects.append(.upstreamsSucceeded(job: downstream, run: nil, date: date))
            effects += apply(scheduler.submit(PlannedRun(job: downstream, logicalTime: downstreamLogical, trigger: .after, dueAt: now)), now: now)
        }
        return effects
    }

    private mutating func stop(now stopRunsNow: Bool) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        if lifecycle == .serving {
            lifecycle = .stopping
            // Slots waiting for a place get their row now: a later start resumes after the newest
            // slot on record and would never find them. Operators' runs keep their queued row.
            for run in scheduler.takeWaitingRuns() where run.queuedRunID == nil && run.trigger != .retry {
                effects += hold(.recordMissed(job: run.job, logicalTime: run.logicalTime,
                                              reason: "renkeid was stopped before the run's turn came (at most \(scheduler.maxConcurrent) run at once)", storage: false))
            }
        }
        if stopRunsNow && lifecycle != .stoppingNow {
            if lifecycle == .stopping { lifecycle = .stoppingNow }
            effects += running.keys.sorted().map { .stop(job: $0, by: nil) }
        }
        if running.isEmpty { effects.append(.stopped) }
        return effects
    }

    private mutating func runEnded(_ job: JobName, _ end: RunEnd, now: Instant) -> [DaemonEffect] {
        guard let run = running.removeValue(forKey: job) else { return [] }
        var effects: [DaemonEffect]
        switch end {
        case .recorded(let runID, let state, let facts):
            chains.ended(job, logical: run.planned.logicalTime, run: runID, state: state)
            effects = apply(scheduler.runEnded(run.planned, runID: runID, state: state, now: now), now: now)
            if var facts {
                facts.willRetry = effects.contains { if case .retryScheduled(let retry) = $0 { retry.job == job } else { false } }
                effects += notifications.runEnded(facts).map(DaemonEffect.notify)
            }
            if state == .succeeded { effects += upstreamSucceeded(job, logical: run.planned.logicalTime, now: now) }
            effects += planProgress(runID, state: state, now: now)
        case .refused(let reason):
            effects = apply(scheduler.runRefused(run.planned, reason: reason), now: now)
        case .notRecorded(let runID?, let outcome, let problem):
            unrecorded[runID] = outcome
            waiting.append(.recordEnd(runID: runID, job: job, outcome: outcome))
            effects = failing(problem, now: now)
            effects += apply(scheduler.runEnded(run.planned, runID: runID, state: outcome.state, now: now), now: now)
        case .notRecorded(nil, _, let problem):
            // Not even its first row was written: the slot is recorded once the store can be.
            effects = failing(problem, now: now)
            waiting.append(.recordMissed(job: job, logicalTime: run.planned.logicalTime,
                                         reason: "its run could not be recorded: \(problem.summary)", storage: true))
            effects += apply(scheduler.runLost(run.planned), now: now)
        }
        if lifecycle != .serving && running.isEmpty { effects.append(.stopped) }
        return effects
    }

    /// The store failed: stop starting runs, probe it after a while.
    private mutating func failing(_ problem: StorageProblem, now: Instant) -> [DaemonEffect] {
        if problem.needsRestart { return restart(problem, now: now) }
        guard storage == .writable else { return [] }
        storage = .failing(problem, since: now, attempts: 0, nextProbe: now + Self.firstProbe, probing: false)
        return [.storageLost(problem)] + notifications.storageLost(problem, now: now).map(DaemonEffect.notify)
    }

    private mutating func restart(_ problem: StorageProblem, now: Instant) -> [DaemonEffect] {
        guard lifecycle != .restartNeeded else { return [] }
        lifecycle = .restartNeeded
        if case .failing(_, let since, let attempts, let nextProbe, _) = storage {
            storage = .failing(problem, since: since, attempts: attempts, nextProbe: nextProbe, probing: false)
        } else {
            storage = .failing(problem, since: now, attempts: 0, nextProbe: .distantFuture, probing: false)
        }
        return [.exitForRestart(problem)] + running.keys.sorted().map { .stop(job: $0, by: nil) } + (running.isEmpty ? [.stopped] : [])
    }

    /// The store is writable again: what waited is written, slots that came meanwhile are due now,
    /// late, and follow their job's `catch_up`.
    private mutating func recovered(now: Instant) -> [DaemonEffect] {
        guard case .failing(_, let since, _, _, _) = storage else { return [] }
        storage = .writable
        let held = waiting
        waiting = []
        unrecorded = [:]
        let ends = held.filter(\.isRunEnd).count
        var effects: [DaemonEffect] = [.storageBack(since: since, unrecorded: ends, slots: held.count - ends)]
        effects += held
        guard lifecycle == .serving else { return effects }
        scheduler.slotsBefore(now, areLateBecause: "the run store could not be written at the slot")
        effects += apply(scheduler.advance(to: now), now: now, storageOutage: true)
        return effects
    }

    /// The scheduler's actions as effects. A start while runs may not start goes back to the queue;
    /// a write while the store cannot be written waits.
    private mutating func apply(_ actions: [SchedulerAction], now: Instant, storageOutage: Bool = false) -> [DaemonEffect] {
        var effects: [DaemonEffect] = []
        for action in actions {
            switch action {
            case .start(let planned) where planned.queuedRunID == nil && holds[planned.job] != nil:
                // A held job's automatic runs are recorded skipped; operators' runs still run.
                effects += hold(.recordSkipped(job: planned.job, logicalTime: planned.logicalTime, reason: holds[planned.job]!.skipReason))
                effects += apply(scheduler.setAside(planned), now: now, storageOutage: storageOutage)
            case .start(let planned) where planned.queuedRunID == nil && (planned.trigger == .schedule || planned.trigger == .catchUp)
                && !chains.missing(planned.job, chains.date(of: planned.job, at: planned.logicalTime)).isEmpty:
                // A slot whose upstreams have not all succeeded for its date waits for them, on
                // record and without holding a place.
                let date = chains.date(of: planned.job, at: planned.logicalTime)
                let missing = chains.missing(planned.job, date)
                if let earlier = chains.waits[planned.job]?[date] {
                    // One wait per job and date: a second slot that day is recorded, not parked.
                    effects += hold(.recordSkipped(job: planned.job, logicalTime: planned.logicalTime,
                                                   reason: "run \(earlier.run) of the same date already waits for \(missing.map(\.rawValue).joined(separator: ", "))"))
                    effects += apply(scheduler.setAside(planned), now: now, storageOutage: storageOutage)
                    continue
                }
                chains.ran(planned.job, logical: planned.logicalTime)
                let until = planned.dueAt + (chains.links[planned.job]?.wait ?? .zero)
                effects += hold(.recordWaiting(planned, waitsFor: missing, until: until))
                effects += apply(scheduler.setAside(planned), now: now, storageOutage: storageOutage)
            case .start(let planned):
                if mayStartRuns {
                    running[planned.job] = ActiveRun(planned: planned, runID: planned.queuedRunID)
                    effects.append(.start(planned))
                } else {
                    scheduler.postpone(planned)
                }
            case .recordSkipped(let job, let logicalTime, let reason):
                effects += hold(.recordSkipped(job: job, logicalTime: logicalTime, reason: reason))
            case .recordMissed(let job, let logicalTime, let reason):
                effects += hold(.recordMissed(job: job, logicalTime: logicalTime, reason: reason, storage: storageOutage))
            case .deadlineBreached(let breach):
                effects += hold(.recordDeadlineBreach(breach))
                effects += notifications.deadlineBreached(breach).map(DaemonEffect.notify)
            case .catchUpStarted(let job, let late, let running):
                effects.append(.catchUpStarted(job: job, late: late, running: running, storage: storageOutage))
            case .retryScheduled(let retry):
                effects.append(.retryScheduled(retry))
            }
        }
        return effects
    }

    /// What a notice may say of a waiting run that failed because its upstreams did not succeed.
    private func upstreamFacts(_ wait: Chains.Wait, message: String, now: Instant) -> NoticeRun? {
        let zone = notifications.zones[wait.planned.job] ?? notifications.machineZone
        let logical = LogicalTime(wait.planned.logicalTime, zoneIdentifier: zone)
        return NoticeRun(job: wait.planned.job, run: wait.run, logicalTime: logical.iso8601, logicalDate: logical.date, state: .failed,
                        errorClass: .upstream, errorMessage: message, failedStep: nil, attempt: wait.planned.attempt, trigger: wait.planned.trigger,
                        since: LogicalTime(now, zoneIdentifier: zone).iso8601)
    }

    /// A write now, or once the store can be written.
    private mutating func hold(_ write: DaemonEffect) -> [DaemonEffect] {
        guard storage == .writable else {
            waiting.append(write)
            return []
        }
        return [write]
    }
}

extension DaemonEffect {
    var isRunEnd: Bool {
        if case .recordEnd = self { return true }
        return false
    }
}
