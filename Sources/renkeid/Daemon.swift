import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd

/// The running daemon: one loop that asks the `Scheduler` what is due, carries out its actions
/// (start runs, record skipped and missed slots and deadline breaches), reports to systemd, and
/// sleeps until the next slot or until something happens (a run ends, SIGHUP, SIGTERM).
actor Daemon {
    /// Where jobs and state live.
    let locations: Locations
    let state: StateDirectory
    let store: RunStore
    /// Carries out each run, recording it as `renkeictl run --local` does.
    let runner: Runner
    let notifier: SystemdNotifier
    let logger: Logger
    /// How long running runs may take to finish after SIGTERM.
    let shutdownGrace: Duration
    /// The zone of jobs that name none.
    let machineZone: String
    /// The decisions.
    var scheduler: Scheduler
    /// The definitions in force, by name; a file that stops parsing keeps its last good one.
    var jobs: [JobName: LoadedJob] = [:]
    /// Runs in progress, by token.
    var runs: [Int: RunEntry] = [:]
    /// Operators' runs and reruns recorded `queued` and waiting for the scheduler, by run id.
    var manual: [Int64: (request: RunRequest, row: RunRecord)] = [:]
    /// Who may use the control socket.
    let authorization: Authorization
    /// Whether run, rerun and cancel need `--reason`.
    let requireReason: Bool

    struct RunEntry {
        let planned: PlannedRun
        let task: Task<Void, Never>
        /// Its row's id, once it has one.
        var runID: Int64?
        let cancellation: CancellationReason
    }
    var nextToken = 0
    /// SIGTERM/SIGINT count: one stops dispatching, a second cuts the wait for running runs short.
    var stopRequests = 0
    var reloadRequested = false
    /// The last `STATUS=` sent, so an unchanged one is not sent again.
    var lastStatus = ""
    let wakeup = Wakeup()
    /// Where runs execute, away from the scheduler loop's threads.
    let runThreads: BlockingThreads
    /// The run events (started, failed, …) as journal entries.
    let events: RunEvents

    init(locations: Locations, store: RunStore, maxConcurrent: Int, shutdownGrace: Duration, logger: Logger, output: OutputDestination,
         authorization: Authorization, requireReason: Bool) {
        self.authorization = authorization
        self.requireReason = requireReason
        self.locations = locations
        state = StateDirectory(locations.state)
        self.store = store
        events = RunEvents(logger: logger)
        let fileEvents = events
        runner = Runner(state: state, store: store, sink: output.sink, cancelledMeans: .interrupted,
                        onFile: { run, step, file in fileEvents.file(file, step: step, of: run) })
        notifier = SystemdNotifier()
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        machineZone = MachineTimeZone.identifier
        scheduler = Scheduler(maxConcurrent: maxConcurrent)
        runThreads = BlockingThreads(count: maxConcurrent, name: "renkei-run")
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    /// Runs until SIGTERM/SIGINT and the shutdown that follows; returns the exit status.
    func run() async -> Int32 {
        loadJobs(initial: true)
        for interrupted in store.interruptedAtOpen {
            events.ended(interrupted.run, job: JobName(interrupted.run.job).flatMap { jobs[$0]?.job }, retryAt: nil)
        }
        // Failed attempts whose retry never ran (the daemon stopped or crashed first) are retried.
        for (name, loaded) in jobs where loaded.job.retry != nil {
            let since = Date().addingTimeInterval(-TimeInterval(loaded.job.catchUpWindow.seconds))
            for run in (try? store.failuresAwaitingRetry(job: name.rawValue, since: since)) ?? [] {
                scheduler.recovered(job: name, logicalTime: run.logicalTime * 1_000_000, attempt: run.attempt, runID: run.id!, now: Self.now())
            }
        }
        notifier.ready(status: status())
        logger.event(.daemonReady, .notice, "renkeid ready: \(jobs.count) jobs from \(locations.jobs), state \(locations.state); \(status())")

        var lastWatchdog = ContinuousClock.now
        var exitStatus: Int32 = 0
        while stopRequests == 0 {
            // The database file was deleted or replaced under us: every write is refused, and
            // nobody would read what we wrote anyway. Stop, so systemd starts us on the real file.
            if let failure = store.lastFailure, failure.needsRestart {
                logger.critical("\(failure); renkeid stops so that it is started again on the file at \(failure.path)")
                notifier.status("stopping: \(failure.problem)")
                exitStatus = 1
                stopRequests = 2
                break
            }
            if reloadRequested {
                reloadRequested = false
                reload()
            }
            let now = Self.now()
            perform(scheduler.advance(to: now))
            sendStatus()
            if let interval = notifier.watchdogInterval, ContinuousClock.now - lastWatchdog >= interval * 0.9 {
                notifier.watchdog()
                lastWatchdog = ContinuousClock.now
            }
            // Sleep until the next slot; wake at least every minute (a wall clock that jumped is
            // seen within a minute) and every half watchdog period.
            var sleep: Duration = .seconds(60)
            if let wake = scheduler.nextWakeUp(now: Self.now()) {
                sleep = min(sleep, .microseconds(max(wake - Self.now(), 0)))
            }
            if let interval = notifier.watchdogInterval { sleep = min(sleep, interval) }
            if sleep > .zero { await wakeup.wait(for: sleep) }
        }
        await shutDown()
        return exitStatus
    }

    // MARK: - Signals

    func requestStop(_ signal: String) {
        stopRequests += 1
        if stopRequests == 1 {
            logger.event(.daemonStopping, .notice, "\(signal): renkeid stopping; \(runs.count) running run(s) get up to \(shutdownGrace.components.seconds)s to finish (send \(signal) again to stop them now)")
        } else {
            logger.notice("\(signal) again: stopping running runs now")
        }
        wakeup.signal()
    }

    func requestReload() {
        reloadRequested = true
        wakeup.signal()
    }

    // MARK: - Jobs

    /// Loads the jobs directory. On reload, a file that no longer parses keeps its previous
    /// definition; a changed schedule continues from now; an added job starts from now.
    /// Returns how many files had problems.
    @discardableResult
    func loadJobs(initial: Bool) -> Int {
        let catalog = JobLoader.load(directory: locations.jobs)
        for problem in catalog.problems {
            let file = (problem.file as NSString).lastPathComponent
            var fields = ["RENKEI_FILE": problem.file]
            if file.hasSuffix(".yaml") { fields[EventField.job] = String(file.dropLast(5)) }
            logger.event(.jobFileInvalid, .error, "\(problem)", fields)
        }
        for note in catalog.notes { logger.warning("\(note)") }
        let now = Self.now()
        var seen: Set<JobName> = []
        for loaded in catalog.jobs {
            let name = loaded.job.name
            seen.insert(name)
            let schedule = loaded.job.jobSchedule(machineZone: machineZone)
            if let old = jobs[name] {
                if old.job.definitionHash != loaded.job.definitionHash {
                    scheduler.update(loaded.job, schedule: schedule, now: now)
                    logger.info("\(name): new definition loaded", metadata: [EventField.job: "\(name)"])
                }
            } else if initial {
                let last = (try? store.lastSlot(job: name.rawValue)).flatMap { $0 }.map { $0 * 1_000_000 }
                scheduler.add(loaded.job, schedule: schedule, lastSlot: last, now: now)
            } else {
                scheduler.add(loaded.job, schedule: schedule, lastSlot: nil, now: now)
                logger.info("\(name): new job, scheduled from now", metadata: [EventField.job: "\(name)"])
            }
            jobs[name] = loaded
        }
        // A job whose file is broken stays as it was; one whose file is gone is dropped.
        let broken = Set(catalog.problems.compactMap { problem -> JobName? in
            let file = (problem.file as NSString).lastPathComponent
            return file.hasSuffix(".yaml") ? JobName(String(file.dropLast(5))) : nil
        })
        for name in jobs.keys where !seen.contains(name) {
            if broken.contains(name) {
                logger.event(.reloadFailed, .error, "\(name): its job file has errors; keeping the previous definition until it is fixed (renkeictl check)",
                             [EventField.job: name.rawValue])
            } else {
                scheduler.remove(name)
                jobs[name] = nil
                logger.info("\(name): job file removed; not scheduled any more", metadata: [EventField.job: "\(name)"])
            }
        }
        return Set(catalog.problems.map(\.file)).count
    }

    func reload() {
        notifier.reloading()
        let broken = loadJobs(initial: false)
        let problems = broken == 0 ? "" : "; \(broken) file(s) with errors"
        logger.event(.daemonReloaded, .notice, "renkeid reloaded the job files from \(locations.jobs): \(jobs.count) jobs\(problems)")
        notifier.ready(status: status())
        lastStatus = ""
    }

    // MARK: - Actions

    func perform(_ actions: [SchedulerAction]) {
        for action in actions {
            switch action {
            case .start(let planned):
                // While stopping nothing new starts. A slot without a row is found again at the next
                // start (catch_up), a pending retry by `failuresAwaitingRetry`.
                if stopRequests == 0 { start(planned) }
            case .recordSkipped(let name, let logicalTime, let reason):
                record(name, logicalTime, state: .skipped, reason: reason)
            case .recordMissed(let name, let logicalTime, let reason):
                record(name, logicalTime, state: .missed, reason: reason)
            case .catchUpStarted(let name, let late, let running):
                let policy = jobs[name]?.job.catchUp.rawValue ?? "?"
                logger.event(.catchUpStarted, .notice, "\(name): \(late) slot(s) passed while renkeid was not running; \(running) will run now (catch_up: \(policy))",
                             [EventField.job: name.rawValue])
            case .retryScheduled(let retry):
                let at = LogicalTime(microseconds: retry.dueAt, zoneIdentifier: zoneName(of: retry.job))
                logger.event(.retryScheduled, .notice, "\(retry.job): attempt \(retry.attempt) of the slot \(LogicalTime(microseconds: retry.logicalTime, zoneIdentifier: zoneName(of: retry.job)).iso8601) at \(at.iso8601)",
                             [EventField.job: retry.job.rawValue, EventField.attempt: String(retry.attempt), EventField.trigger: "retry",
                              EventField.logicalTime: LogicalTime(microseconds: retry.logicalTime, zoneIdentifier: zoneName(of: retry.job)).iso8601])
            case .deadlineBreached(let breach):
                let zone = zoneName(of: breach.job)
                let slot = LogicalTime(microseconds: breach.logicalTime, zoneIdentifier: zone)
                let deadline = LogicalTime(microseconds: breach.deadline, zoneIdentifier: zone)
                let what = breach.kind == .startBy ? "had not started" : "had not finished"
                logger.event(.deadlineBreached, .warning, "\(breach.job): the run for \(slot.iso8601) \(what) by its deadline \(deadline.iso8601) (\(breach.kind.rawValue))",
                             [EventField.job: breach.job.rawValue, EventField.logicalTime: slot.iso8601, "RENKEI_DEADLINE": breach.kind.rawValue])
                do {
                    try store.recordDeadlineBreach(job: breach.job.rawValue, logicalTime: slot.epochSeconds, kind: breach.kind.rawValue,
                                                   deadline: Date(timeIntervalSince1970: TimeInterval(deadline.epochSeconds)), at: Date())
                } catch {
                    logger.error("cannot record the deadline breach of \(breach.job): \(error)")
                }
            }
        }
    }

    func zoneName(of name: JobName) -> String {
        jobs[name]?.job.jobSchedule(machineZone: machineZone)?.effectiveZone.identifier ?? jobs[name]?.job.timezone ?? machineZone
    }

    func record(_ name: JobName, _ logicalTime: Int64, state: RunState, reason: String) {
        let slot = LogicalTime(microseconds: logicalTime, zoneIdentifier: zoneName(of: name))
        logger.event(state == .missed ? .slotMissed : .slotSkipped, state == .missed ? .warning : .info,
                     "\(name): slot \(slot.iso8601) \(state.rawValue): \(reason)",
                     [EventField.job: name.rawValue, EventField.logicalTime: slot.iso8601, EventField.state: state.rawValue])
        guard let job = jobs[name]?.job else { return }
        do {
            try store.recordSlot(job: job, logicalTime: slot, state: state, reason: reason, at: Date())
        } catch {
            logger.error("\(name): cannot record the \(state.rawValue) slot \(slot.iso8601): \(error)")
        }
    }

    func start(_ planned: PlannedRun) {
        var queuedRow: RunRecord?
        let request: RunRequest
        if let id = planned.queuedRunID, let entry = manual.removeValue(forKey: id) {
            request = entry.request
            queuedRow = entry.row
        } else {
            guard let loaded = jobs[planned.job] else {
                perform(scheduler.runRefused(planned, reason: "the job's file was removed"))
                return
            }
            let logical = LogicalTime(microseconds: planned.logicalTime, zoneIdentifier: zoneName(of: planned.job))
            request = RunRequest(job: loaded, logicalTime: logical, trigger: planned.trigger, attempt: planned.attempt, retryOf: planned.retryOf)
        }
        let token = nextToken
        nextToken += 1
        let runner = self.runner
        let queued = queuedRow
        // Detached, on threads of its own: a run's work (store writes, process I/O) must not queue
        // behind the actor, nor the actor behind it.
        let task = Task.detached(executorPreference: runThreads) {
            let result: Result<RunRecord, any Error>
            do {
                // Awaited, not a Task of its own: the run-started event is sent before the run can end.
                result = .success(try await runner.perform(request, queued: queued) { row in
                    await self.runStarted(token, record: row)
                })
            } catch {
                result = .failure(error)
            }
            await self.runFinished(token, result)
        }
        runs[token] = RunEntry(planned: planned, task: task, runID: queued?.id, cancellation: request.cancellation)
    }

    func runStarted(_ token: Int, record: RunRecord) {
        runs[token]?.runID = record.id
        guard let planned = runs[token]?.planned else { return }
        scheduler.runStarted(planned)
        events.started(record, job: jobs[planned.job]?.job)
    }

    func runFinished(_ token: Int, _ result: Result<RunRecord, any Error>) {
        guard let planned = runs.removeValue(forKey: token)?.planned else { return }
        switch result {
        case .success(let record):
            let actions = scheduler.runEnded(planned, runID: record.id!, state: record.state, now: Self.now())
            var retryAt: LogicalTime?
            for case .retryScheduled(let retry) in actions {
                retryAt = LogicalTime(microseconds: retry.dueAt, zoneIdentifier: zoneName(of: retry.job))
            }
            events.ended(record, job: jobs[planned.job]?.job, retryAt: retryAt)
            perform(actions)
        case .failure(let busy as RunLock.Busy):
            perform(scheduler.runRefused(planned, reason: "another process holds the job's lock (\(busy.holder.map { "pid \($0)" } ?? "unknown"), e.g. renkeictl run --local)"))
        case .failure(let error):
            logger.error("\(planned.job): the run could not be recorded: \(error)")
            perform(scheduler.runRefused(planned, reason: "the run could not be recorded: \(error)"))
        }
        wakeup.signal()
    }

    // MARK: - Status and shutdown

    func status() -> String {
        var text = "\(scheduler.running) running, \(scheduler.queued) queued"
        if let next = scheduler.nextSlot() {
            let zone = ZoneRules.named(zoneName(of: next.job)) ?? .utc
            let iso = LogicalTime.iso8601(LogicalTime(microseconds: next.runAt, zoneIdentifier: zone.identifier).epochSeconds, in: zone)
            text += "; next: \(next.job) at \(iso.prefix(16).replacingOccurrences(of: "T", with: " "))"
        }
        return text
    }

    func sendStatus() {
        let text = status()
        if text != lastStatus {
            notifier.status(text)
            lastStatus = text
        }
    }

    func shutDown() async {
        notifier.stopping(status: "stopping: \(runs.count) run(s) to finish")
        let deadline = ContinuousClock.now.advanced(by: shutdownGrace)
        while !runs.isEmpty && stopRequests < 2 && ContinuousClock.now < deadline {
            await wakeup.wait(for: min(deadline - ContinuousClock.now, .seconds(1)))
        }
        if !runs.isEmpty {
            logger.notice("stopping \(runs.count) running run(s): their processes get SIGTERM, then SIGKILL; they are recorded interrupted")
            let tasks = runs.values.map(\.task)
            for task in tasks { task.cancel() }
            for task in tasks { await task.value }
        }
        logger.info("renkeid stopped")
    }
}
