/// The scheduling decisions of `renkeid`, with no clock, no I/O and no processes: the daemon tells
/// it the time and what happened, and it answers with actions. That is how hours of slots,
/// retries, deadlines and clock jumps are tested in milliseconds.
///
/// Rules it keeps:
/// - every slot of every job ends in exactly one action: a start, `recordSkipped` or `recordMissed`;
/// - at most `maxConcurrent` runs at once, one per job; the rest wait in due order;
/// - a slot found more than `lateness` after its time (daemon down, machine asleep, clock jumped
///   forward) follows the job's `catch_up` policy and `catch_up_window`;
/// - slots are enumerated after a cursor that only moves forward, so a clock that jumps back
///   never runs a slot twice.
public struct Scheduler: Sendable {
    /// At most this many runs at once.
    public let maxConcurrent: Int
    /// A slot this much past its time when the scheduler sees it counts as missed downtime.
    public let lateness: Duration

    /// Each job's definition and progress. Scans read states in place (`jobs.values[index]`):
    /// `for state in jobs.values` would copy each one, several times per run, for every job.
    var jobs: [JobName: JobState] = [:]
    /// Retries waiting for their time.
    var retryTimers: [PlannedRun] = []
    /// Deadlines still to watch.
    var deadlines: [DeadlineWatch] = []
    /// How many runs were started and have not ended.
    public private(set) var running = 0
    /// Runs waiting for a place, kept as a count: asked after every event of a loaded daemon.
    public private(set) var queued = 0
    /// The soonest slot of any job, kept so that a wake-up need not scan every job: worked out
    /// again whenever a job's next slot changes (each `advance`, a job added, changed, removed).
    private var soonestSlot: Instant?
    /// Idle jobs' first waiting runs, oldest due first (`dispatch`).
    private var order = DispatchOrder()

    struct JobState: Sendable {
        /// The job and its schedule, in one shared box: the scheduler scans every job's state
        /// several times per run, and a scan must not copy a whole job definition each time.
        final class Definition: Sendable {
            let job: Job
            let schedule: JobSchedule?

            init(_ job: Job, _ schedule: JobSchedule?) {
                self.job = job
                self.schedule = schedule
            }
        }

        var definition: Definition { didSet { upcoming = schedule?.nextSlot(after: cursor) } }
        var job: Job { definition.job }
        var schedule: JobSchedule? { definition.schedule }
        /// The last slot handled (started, queued, skipped or missed).
        var cursor: Instant { didSet { upcoming = schedule?.nextSlot(after: cursor) } }
        /// The first slot after `cursor`, kept so that a wake-up computes the calendar only of
        /// jobs whose slot is due, not of all of them.
        private(set) var upcoming: Slot?
        /// The run of this job that was started and has not ended.
        var active: PlannedRun?
        /// Runs due and waiting for a free place, oldest due first.
        var pending: [PlannedRun] = []
        /// Still defined in the jobs directory; a removed job lingers until its run ends.
        var removed = false
        /// Slots before this instant passed while no scheduler ran: they are late however recent.
        var lateBefore: Instant = .distantPast
        /// Why slots before `lateBefore` were not run at their time, for their `missed` rows.
        var lateReason = "renkeid was not running at the slot"

        init(job: Job, schedule: JobSchedule?, cursor: Instant) {
            definition = Definition(job, schedule)
            self.cursor = cursor
            upcoming = schedule?.nextSlot(after: cursor)
        }

        /// When the upcoming slot is due: its run time, or its own time when a closed day skips it.
        var upcomingDue: Instant? { upcoming?.due }
    }

    struct DeadlineWatch: Sendable {
        var breach: DeadlineBreach
        var satisfied = false
    }

    public init(maxConcurrent: Int = 8, lateness: Duration = .seconds(60)) {
        precondition(maxConcurrent > 0)
        self.maxConcurrent = maxConcurrent
        self.lateness = lateness
    }

    // MARK: - Jobs

    /// Adds or replaces a job. `lastSlot` is the newest slot the store has for it; a job seen for
    /// the first time (nil) has no past slots and starts from `now`.
    public mutating func add(_ job: Job, schedule: JobSchedule?, lastSlot: Instant?, now: Instant) {
        var state = JobState(job: job, schedule: schedule, cursor: lastSlot ?? now)
        if lastSlot != nil { state.lateBefore = now }
        queued -= jobs[job.name]?.pending.count ?? 0
        jobs[job.name] = state
        noteSlot(state.upcomingDue)
    }

    /// A job a new leader takes over on a shared store (PostgreSQL): as `add`, but a slot counts as
    /// late only when it is more than `lateness` past: a failover of a few seconds is not downtime.
    public mutating func takeOver(_ job: Job, schedule: JobSchedule?, lastSlot: Instant, now: Instant) {
        add(job, schedule: schedule, lastSlot: lastSlot, now: now)
        jobs[job.name]?.lateBefore = .distantPast
        jobs[job.name]?.lateReason = "no renkeid node led the cluster at the slot"
    }

    /// A job's next slot may have come nearer. (One that moved away leaves `soonestSlot` early:
    /// a wake-up with nothing due, after which `advance` works it out again.)
    private mutating func noteSlot(_ due: Instant?) {
        guard let due else { return }
        soonestSlot = min(soonestSlot ?? due, due)
    }

    /// A reloaded definition. A job whose schedule changed continues from `now`, never from the
    /// past: a slot that was not due under the old schedule must not fire (systemd #16732).
    public mutating func update(_ job: Job, schedule: JobSchedule?, now: Instant) {
        guard var state = jobs[job.name] else {
            add(job, schedule: schedule, lastSlot: nil, now: now)
            return
        }
        if state.schedule?.schedule != schedule?.schedule || state.schedule?.zone.identifier != schedule?.zone.identifier
            || state.job.closedDayCalendar != job.closedDayCalendar || state.job.onClosedDay != job.onClosedDay {
            state.cursor = max(state.cursor, now)
        }
        state.definition = JobState.Definition(job, schedule)
        state.removed = false
        jobs[job.name] = state
        noteSlot(state.upcomingDue)
    }

    /// A job whose file is gone: no more slots; a running run finishes.
    public mutating func remove(_ name: JobName) {
        guard var state = jobs[name] else { return }
        state.removed = true
        queued -= state.pending.count
        state.pending.removeAll()
        retryTimers.removeAll { $0.job == name }
        jobs[name] = state
        if state.active == nil { jobs[name] = nil }
    }

    public var jobNames: [JobName] { jobs.keys.sorted() }

    // MARK: - Time passing

    /// Everything that is due at `now`: slots, retries, deadlines, and starts for free places.
    public mutating func advance(to now: Instant) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        var due: [JobName] = []
        for index in jobs.indices where !jobs.values[index].removed && jobs.values[index].upcomingDue.map({ $0 <= now }) == true {
            due.append(jobs.keys[index])
        }
        for name in due.sorted() {
            actions += dueSlots(of: name, now: now)
        }
        let dueRetries = retryTimers.filter { $0.dueAt <= now }
        retryTimers.removeAll { $0.dueAt <= now }
        for retry in dueRetries where jobs[retry.job]?.removed == false {
            enqueue(retry)
        }
        actions += checkDeadlines(now: now)
        actions += dispatch()
        recount()
        return actions
    }

    /// When `advance` next has something to do; nil when nothing is scheduled at all.
    public func nextWakeUp(now: Instant) -> Instant? {
        if running < maxConcurrent && queued > 0 && nextToDispatch() != nil { return now }
        var earliest: Instant?
        func consider(_ time: Instant) { earliest = min(earliest ?? time, time) }
        if let soonestSlot { consider(soonestSlot) }
        for retry in retryTimers { consider(retry.dueAt) }
        for watch in deadlines where !watch.satisfied { consider(watch.breach.deadline) }
        return earliest
    }

    /// The next slot of each scheduled job, soonest first, for `renkeictl status` and `jobs`.
    public func nextSlots() -> [(job: JobName, runAt: Instant)] {
        jobs.values.compactMap { state in
            guard !state.removed, let runAt = state.upcoming?.runInstant else { return nil }
            return (state.job.name, runAt)
        }.sorted { $0.runAt < $1.runAt }
    }

    /// The soonest of `nextSlots()`, for `STATUS=` after every wake-up.
    public func nextSlot() -> (job: JobName, runAt: Instant)? {
        var soonest: (job: JobName, runAt: Instant)?
        for index in jobs.indices where !jobs.values[index].removed {
            if let runAt = jobs.values[index].upcoming?.runInstant, runAt < soonest?.runAt ?? .distantFuture { soonest = (jobs.keys[index], runAt) }
        }
        return soonest
    }

    /// Works out `soonestSlot` and `queued` again, scanning every job.
    mutating func recount() {
        var soonest: Instant?, waiting = 0
        for index in jobs.indices {
            waiting += jobs.values[index].pending.count
            guard !jobs.values[index].removed, let due = jobs.values[index].upcomingDue else { continue }
            soonest = min(soonest ?? due, due)
        }
        soonestSlot = soonest
        queued = waiting
    }

    // MARK: - What happened to runs

    /// An operator's run or rerun: it waits its turn like any run (one per job, at most
    /// `maxConcurrent`), is never skipped, and is not retried automatically.
    public mutating func submit(_ run: PlannedRun) -> [SchedulerAction] {
        guard jobs[run.job] != nil else { return [] }
        enqueue(run)
        return dispatch()
    }

    /// Takes an operator's run out of the queue before it started; false if it is not waiting.
    public mutating func withdraw(queuedRunID: RunID) -> PlannedRun? {
        for (name, var state) in jobs {
            if let index = state.pending.firstIndex(where: { $0.queuedRunID == queuedRunID }) {
                let run = state.pending.remove(at: index)
                jobs[name] = state
                queued -= 1
                if index == 0, state.active == nil, let first = state.pending.first { order.push(first) }
                return run
            }
        }
        return nil
    }

    /// A started run exists now (its row is committed).
    public mutating func runStarted(_ run: PlannedRun) {
        for index in deadlines.indices where deadlines[index].breach.job == run.job && deadlines[index].breach.logicalTime == run.logicalTime
            && deadlines[index].breach.kind == .startBy {
            deadlines[index].satisfied = true
        }
    }

    /// A started run ended in `state` as run `runID`. A failure with retries left schedules the next
    /// attempt; a job's next waiting run may start.
    public mutating func runEnded(_ run: PlannedRun, runID: RunID, state: RunState, now: Instant) -> [SchedulerAction] {
        release(run)
        var slotDone = true
        var actions: [SchedulerAction] = []
        let automatic = run.trigger == .schedule || run.trigger == .catchUp || run.trigger == .retry
        if automatic, state.isFailure, let job = jobs[run.job], !job.removed, let retry = job.job.retry, run.attempt <= retry.limit {
            let wait = retry.delay(beforeRetry: run.attempt).duration
            let next = PlannedRun(job: run.job, logicalTime: run.logicalTime, trigger: .retry, attempt: run.attempt + 1, retryOf: runID, dueAt: now + wait)
            retryTimers.append(next)
            actions.append(.retryScheduled(next))
            slotDone = false
        }
        if slotDone {
            for index in deadlines.indices where deadlines[index].breach.job == run.job && deadlines[index].breach.logicalTime == run.logicalTime {
                deadlines[index].satisfied = true
            }
            deadlines.removeAll { $0.satisfied && $0.breach.job == run.job && $0.breach.logicalTime == run.logicalTime }
        }
        return actions + dispatch()
    }

    /// A run could not start because another process holds the job's lock (`renkeictl run
    /// --local`): the slot is recorded skipped.
    public mutating func runRefused(_ run: PlannedRun, reason: String) -> [SchedulerAction] {
        release(run)
        satisfyDeadlines(of: run.slot)
        return [.recordSkipped(job: run.job, logicalTime: run.logicalTime, reason: reason)] + dispatch()
    }

    /// Runs a previous daemon left unfinished, now recorded `interrupted`: each counts as a failed
    /// attempt and is retried if its job has attempts left.
    public mutating func recovered(job name: JobName, logicalTime: Instant, attempt: Int, runID: RunID, now: Instant) {
        guard let job = jobs[name]?.job, let retry = job.retry, attempt <= retry.limit else { return }
        retryTimers.append(PlannedRun(job: name, logicalTime: logicalTime, trigger: .retry, attempt: attempt + 1, retryOf: runID,
                                      dueAt: now + retry.delay(beforeRetry: attempt).duration))
    }

    /// A run that was to start but may not now (the store cannot be written): back to the front
    /// of its job's queue, in due order.
    public mutating func postpone(_ run: PlannedRun) {
        release(run)
        enqueue(run)
    }

    /// A started run that left no row (the store failed before it had one): its place is free.
    public mutating func runLost(_ run: PlannedRun) -> [SchedulerAction] {
        release(run)
        satisfyDeadlines(of: run.slot)
        return dispatch()
    }

    /// Every run waiting for a place, taken out of the queue (renkeid is stopping): the daemon
    /// records the scheduled ones, whose slots a later start would not find again.
    public mutating func takeWaitingRuns() -> [PlannedRun] {
        var taken: [PlannedRun] = []
        for index in jobs.indices {
            taken += jobs.values[index].pending
            jobs.values[index].pending.removeAll()
        }
        queued = 0
        return taken.sorted { ($0.dueAt, $0.logicalTime, $0.job) < ($1.dueAt, $1.logicalTime, $1.job) }
    }

    /// A started run that waits for its upstreams instead (on record, `waiting`): its place is
    /// free; its deadlines are still watched.
    public mutating func setAside(_ run: PlannedRun) -> [SchedulerAction] {
        release(run)
        return dispatch()
    }

    /// Slots due before `now` were not run at their time for `reason` (the store could not be
    /// written): the next `advance` treats them as late, per each job's `catch_up`.
    public mutating func slotsBefore(_ now: Instant, areLateBecause reason: String) {
        for index in jobs.indices {
            jobs.values[index].lateBefore = now
            jobs.values[index].lateReason = reason
        }
    }

    // MARK: - Internals

    private mutating func release(_ run: PlannedRun) {
        running = max(running - 1, 0)
        guard var state = jobs[run.job] else { return }
        state.active = nil
        jobs[run.job] = state.removed ? nil : state
        if !state.removed, let first = state.pending.first { order.push(first) }
    }

    mutating func enqueue(_ run: PlannedRun) {
        guard jobs[run.job] != nil else { return }
        // In due order; a run due at the same moment as others goes after them.
        let key = (run.dueAt, run.logicalTime, run.attempt)
        let pending = jobs[run.job]!.pending
        var low = pending.startIndex, high = pending.endIndex
        while low < high {
            let middle = (low + high) / 2
            if key < (pending[middle].dueAt, pending[middle].logicalTime, pending[middle].attempt) { high = middle } else { low = middle + 1 }
        }
        jobs[run.job]!.pending.insert(run, at: low)
        queued += 1
        if low == 0 && jobs[run.job]!.active == nil { order.push(run) }
    }

    /// Starts waiting runs while there are places, the longest-waiting first, one per job.
    mutating func dispatch() -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        while running < maxConcurrent, let name = nextReady() {
            let run = jobs[name]!.pending.removeFirst()
            queued -= 1
            jobs[name]!.active = run
            running += 1
            actions.append(.start(run))
        }
        return actions
    }

    /// The idle job whose first waiting run has waited longest, taken from `order`; stale
    /// entries (the job busy, or its first waiting run another) are dropped on the way.
    private mutating func nextReady() -> JobName? {
        while let entry = order.first {
            order.removeFirst()
            guard let state = jobs[entry.job], state.active == nil, !state.removed, let first = state.pending.first,
                  first.dueAt == entry.dueAt, first.logicalTime == entry.logicalTime else { continue }
            return entry.job
        }
        return nil
    }

    /// The idle job whose first waiting run has waited longest (a scan of every job).
    private func nextToDispatch() -> JobName? {
        var best: (dueAt: Instant, logicalTime: Instant, job: JobName)?
        for index in jobs.indices where jobs.values[index].active == nil {
            guard let first = jobs.values[index].pending.first else { continue }
            let key = (first.dueAt, first.logicalTime, jobs.keys[index])
            if best.map({ key < $0 }) ?? true { best = key }
        }
        return best?.job
    }

    mutating func satisfyDeadlines(of slot: SlotKey) {
        deadlines.removeAll { $0.breach.job == slot.job && $0.breach.logicalTime == slot.logicalTime }
    }
}
