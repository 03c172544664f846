import Foundation
import Logging
import RenkeiCore
import RenkeiLink
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd
import ServiceLifecycle
import Synchronization

/// renkeid's whole life, in one loop: it loads the jobs, says READY, then takes one `Mail` at a
/// time from its `Inbox` — a tick of its timer, a signal, an operator's request, a run that
/// started or ended, the store's probe — hands the event to `DaemonCore`, and carries out the
/// effects the core answers with, each in exactly one place (`perform`). It ends when the core
/// says `stopped`.
///
/// The loop never waits for a disk or a process: runs go on in tasks of their own (the `Runner`
/// owns their processes), writes go to the store's one writer (`Recorder`), and each reports
/// back by mail.
struct Daemon: Service {
    let locations: Locations
    let store: RunStore
    /// Carries out each run, recording it as `renkeictl run --local` does.
    let runner: Runner
    let notifier: SystemdNotifier
    let logger: Logger
    let events: RunEvents
    /// How long running runs may take to finish after SIGTERM.
    let shutdownGrace: Duration
    let maxConcurrent: Int
    let inbox: Inbox
    /// The loop's exit status, for `renkeid` to return once every service has stopped.
    let exitStatus: ExitStatus
    /// Retention for jobs whose file names none (`renkeid --retention`); purged daily at `purgeAt`.
    var retention: JobDuration = Purge.defaultRetention
    /// The local time of the daily purge (`renkeid --purge-at`).
    var purgeAt = TimeOfDay("03:00")!
    /// `renkei.yaml`: read at start and on SIGHUP (a file that is not there configures nothing).
    var configPath: String = SiteConfigurationFile.path()
    /// When renkeid started, for `renkei_daemon_start_time_seconds`.
    var startedAt = Date()

    final class ExitStatus: Sendable {
        private let value = Mutex<Int32>(0)
        func set(_ status: Int32) { value.withLock { $0 = status } }
        var status: Int32 { value.withLock { $0 } }
    }

    func run() async {
        var loop = Loop(daemon: self)
        let purging = Task { await purgeDaily() }
        await loop.run()
        purging.cancel()
    }

    /// The loop's state: only the loop's task touches it.
    struct Loop {
        let daemon: Daemon
        var core: DaemonCore
        /// The definitions in force, by name; a file that stops parsing keeps its last good one.
        var jobs: [JobName: LoadedJob] = [:]
        /// Each running run's task and how it was cancelled, by job (one run per job at a time).
        var runs: [JobName: (task: Task<Void, Never>, cancellation: CancellationReason)] = [:]
        /// Operators' runs recorded `queued`, by run id, until they start.
        var requests: [RunID: (request: RunRequest, row: RunRecord)] = [:]
        /// The timer that will send the next tick, and when.
        var timer: (at: Instant, task: Task<Void, Never>)?
        var lastStatus = ""
        var lastWatchdog = ContinuousClock.now
        /// When `STATUS=` was last worked out: it scans every job, so not on every mail.
        var lastStatusAt = ContinuousClock.now
        let machineZone = MachineTimeZone.identifier
        var done = false
        /// Watches the `trigger:` directories; arrivals come by mail.
        var triggers: TriggerWatcher?
        /// The site configuration in force; a `renkei.yaml` that stops reading keeps it.
        var site = SiteConfiguration.empty
        /// Writes the metrics textfile off the loop; when it was last asked to.
        let metrics: MetricsPublisher
        var metricsAskedAt: ContinuousClock.Instant?

        init(daemon: Daemon) {
            self.daemon = daemon
            metrics = MetricsPublisher(store: daemon.store, logger: daemon.logger)
            core = DaemonCore(scheduler: Scheduler(maxConcurrent: daemon.maxConcurrent))
        }

        var view: DaemonView { DaemonView(core: core, jobs: jobs, zones: zones, machineZone: machineZone) }
        /// Each job's zone, worked out when the jobs are loaded (every slot's row and log line needs it).
        var zones: [JobName: String] = [:]
        var logger: Logger { daemon.logger }

        static func now() -> Instant { Instant(Date()) }

        mutating func run() async {
            start()
            for await mail in daemon.inbox.mails {
                take(mail)
                if done { break }
                keepSystemdInformed()
                armTimer()
            }
            timer?.task.cancel()
            triggers?.stop()
            // Questions that came after the end get the last view; nothing else is taken.
            daemon.inbox.close()
            for await mail in daemon.inbox.mails {
                if case .ask(_, let reply) = mail { reply(view, []) }
            }
            logger.info("renkeid stopped")
        }

        // MARK: - Start

        mutating func start() {
            loadSiteConfiguration(initial: true)
            loadJobs(initial: true)
            configureNotifications()
            readUnresolvedFailures()
            restoreChains()
            for row in (try? daemon.store.holds()) ?? [] {
                guard let job = JobName(row.job) else { continue }
                core.holds[job] = Hold(by: row.heldBy, reason: row.reason, since: Instant(row.since), until: row.until.map { Instant($0) })
            }
            for interrupted in daemon.store.interruptedAtOpen {
                daemon.events.ended(interrupted.run, job: JobName(interrupted.run.job).flatMap { jobs[$0]?.job }, retryAt: nil)
            }
            // Failed attempts whose retry never ran (the daemon stopped or crashed first) are retried.
            for (name, loaded) in jobs where loaded.job.retry != nil {
                let since = Date().addingTimeInterval(-TimeInterval(loaded.job.catchUpWindow.seconds))
                for run in (try? daemon.store.failuresAwaitingRetry(job: name.rawValue, since: since)) ?? [] {
                    core.scheduler.recovered(job: name, logicalTime: Instant(secondsSinceEpoch: run.logicalTime), attempt: run.attempt, runID: RunID(run.id!), now: Self.now())
                }
            }
            watchTriggerDirectories()
            lastStatus = view.statusLine
            daemon.notifier.ready(status: lastStatus)
            logger.event(.daemonReady, .notice, "renkeid ready: \(jobs.count) jobs from \(daemon.locations.jobs), state \(daemon.locations.state); \(lastStatus)")
            daemon.inbox.send(.tick)
            publishMetrics()
            StartupPages.release()
        }

        // MARK: - Mail

        mutating func take(_ mail: Mail) {
            switch mail {
            case .event(let event):
                if case .tick = event {
                    timer = nil
                    // The timer wakes the loop at least every 60 s; a little slack keeps a tick that comes a
                    // hair early from pushing the write to the next minute.
                    if let asked = metricsAskedAt, ContinuousClock.now - asked >= .seconds(55) { publishMetrics() }
                    if core.notifications.reminderDue(now: Self.now()) { readUnresolvedFailures() }
                }
                if case .stopRequested(let signal) = event { stopRequested(signal) }
                let effects = core.handle(event, now: Self.now())
                let stopping = effects.filter { if case .stop(_, nil) = $0 { true } else { false } }.count
                if stopping > 0 {
                    logger.notice("stopping \(stopping) running run(s): their processes get SIGTERM, then SIGKILL; they are recorded interrupted")
                }
                perform(effects)
            case .reload:
                reload()
            case .runStarted(let row):
                guard let job = JobName(row.job) else { return }
                perform(core.handle(.runStarted(job: job, runID: RunID(row.id!)), now: Self.now()))
                daemon.events.started(row, job: jobs[job]?.job)
            case .runFinished(let job, let finish):
                runs[job] = nil
                runFinished(job, finish)
                publishMetrics()
            case .queued(let request, let row):
                let id = RunID(row.id!)
                requests[id] = (request, row)
                let planned = PlannedRun(job: request.job.job.name, logicalTime: request.logicalTime.instant, trigger: request.trigger,
                                         attempt: request.attempt, dueAt: Self.now(), queuedRunID: id)
                perform(core.handle(.runQueued(planned), now: Self.now()))
            case .fileArrived(let arrival):
                startRun(for: arrival)
            case .plan(let items):
                let waits = items.map { item -> PlanWait in
                    let id = RunID(item.row.id!)
                    requests[id] = (item.request, item.row)
                    return PlanWait(planned: PlannedRun(job: item.request.job.job.name, logicalTime: item.request.logicalTime.instant, trigger: item.request.trigger,
                                                        attempt: item.request.attempt, dueAt: Self.now(), queuedRunID: id), after: item.after)
                }
                perform(core.handle(.planRecorded(waits, ended: [:]), now: Self.now()))
            case .waiting(let request, let row, let planned, let until):
                let id = RunID(row.id!)
                requests[id] = (request, row)
                perform(core.handle(.waitRecorded(planned, run: id, until: until), now: Self.now()))
            case .ask(let event, let reply):
                let effects = event.map { core.handle($0, now: Self.now()) } ?? []
                perform(effects)
                reply(view, effects)
            }
        }

        mutating func stopRequested(_ signal: String) {
            if core.lifecycle == .serving {
                logger.event(.daemonStopping, .notice, "\(signal): renkeid stopping; \(runs.count) running run(s) get up to \(daemon.shutdownGrace.components.seconds)s to finish (send \(signal) again to stop them now)")
                daemon.notifier.stopping(status: "stopping: \(runs.count) run(s) to finish")
                let inbox = daemon.inbox, grace = daemon.shutdownGrace
                Task {
                    try? await Task.sleep(for: grace)
                    inbox.send(.graceOver)
                }
            } else {
                logger.notice("\(signal) again: stopping running runs now")
            }
        }

        mutating func runFinished(_ job: JobName, _ finish: RunFinish) {
            let now = Self.now()
            switch finish {
            case .recorded(let record):
                let facts = Self.facts(record, job: job)
                let effects = core.handle(.runEnded(job: job, .recorded(runID: RunID(record.id!), state: record.state, facts: facts)), now: now)
                var retryAt: LogicalTime?
                for case .retryScheduled(let retry) in effects {
                    retryAt = LogicalTime(retry.dueAt, zoneIdentifier: view.zoneName(of: retry.job))
                }
                daemon.events.ended(record, job: jobs[job]?.job, retryAt: retryAt)
                perform(effects)
            case .refused(let reason):
                perform(core.handle(.runEnded(job: job, .refused(reason: reason)), now: now))
            case .notRecorded(let lost):
                logger.error("\(job): \(lost)", metadata: [EventField.job: "\(job)"])
                perform(core.handle(.runEnded(job: job, .notRecorded(runID: lost.runID.map { RunID($0) }, outcome: lost.outcome, Self.problem(lost.failure))), now: now))
            case .lost(let reason):
                logger.error("\(job): the run could not go on: \(reason)", metadata: [EventField.job: "\(job)"])
                perform(core.handle(.runEnded(job: job, .refused(reason: reason)), now: now))
            }
        }

        // MARK: - Effects

        /// Carries out the core's effects, in order. Every spawn, write and log of the loop is here.
        mutating func perform(_ effects: [DaemonEffect]) {
            var slots: [DaemonEffect] = []
            defer { if !slots.isEmpty { recordSlots(slots) } }
            for effect in effects {
                switch effect {
                case .recordSkipped, .recordMissed:
                    slots.append(effect)
                case .start(let planned):
                    startRun(planned)
                case .stop(let job, let user):
                    guard let run = runs[job] else { continue }
                    if let user { run.cancellation.operatorCancels(user) }
                    run.task.cancel()
                case .recordCancelled, .recordEnd, .recordDeadlineBreach, .recordUpstreamFailed, .recordNotRun:
                    log(effect)
                    write(effect)
                case .recordWaiting(let planned, let upstreams, let until):
                    recordWaiting(planned, for: upstreams, until: until)
                case .recordHold(let job, let hold):
                    let until = hold.until.map { " until \(LogicalTime($0, zoneIdentifier: view.zoneName(of: job)).iso8601)" } ?? " until released"
                    logger.event(.jobHeld, .notice, "\(job) is held by \(hold.by)\(until): \(hold.reason); its slots are recorded skipped (renkeictl release \(job))",
                                 [EventField.job: job.rawValue, EventField.requestedBy: hold.by])
                    let store = daemon.store, inbox = daemon.inbox
                    let row = RunStore.HoldRow(job: job.rawValue, heldBy: hold.by, reason: hold.reason, since: Date(), until: hold.until.map { Date(timeIntervalSince1970: TimeInterval($0.secondsSinceEpoch)) })
                    Task {
                        do { try await store.setHold(row) } catch let failure as StoreFailure { inbox.send(.storeFailed(Self.problem(failure))) } catch {}
                    }
                case .recordRelease(let job, let user, let expired):
                    let how = expired ? "its hold by \(user) ended (--until)" : "released by \(user)"
                    logger.event(.jobReleased, .notice, "\(job) is \(how); its next slots run", [EventField.job: job.rawValue, EventField.requestedBy: user])
                    let store = daemon.store, inbox = daemon.inbox
                    Task {
                        do { try await store.removeHold(job: job.rawValue) } catch let failure as StoreFailure { inbox.send(.storeFailed(Self.problem(failure))) } catch {}
                    }
                case .upstreamsSucceeded(let job, let run, let date):
                    let what = run.map { "its waiting run \($0) starts" } ?? "a run with trigger after starts"
                    var fields = [EventField.job: job.rawValue]
                    if let run { fields[EventField.runID] = "\(run)" }
                    logger.event(.upstreamsSucceeded, .notice, "\(job): its upstreams (\(jobs[job]?.job.after.map(\.rawValue).joined(separator: ", ") ?? "")) all succeeded for \(date); \(what)", fields)
                case .catchUpStarted(let name, let late, let running, let storage):
                    let policy = jobs[name]?.job.catchUp.rawValue ?? "?"
                    let why = storage ? "the run store could not be written" : "renkeid was not running"
                    logger.event(.catchUpStarted, .notice, "\(name): \(late) slot(s) passed while \(why); \(running) will run now (catch_up: \(policy))",
                                 [EventField.job: name.rawValue])
                case .retryScheduled(let retry):
                    let zone = view.zoneName(of: retry.job)
                    let slot = LogicalTime(retry.logicalTime, zoneIdentifier: zone)
                    logger.event(.retryScheduled, .notice, "\(retry.job): attempt \(retry.attempt) of the slot \(slot.iso8601) at \(LogicalTime(retry.dueAt, zoneIdentifier: zone).iso8601)",
                                 [EventField.job: retry.job.rawValue, EventField.attempt: String(retry.attempt), EventField.trigger: "retry",
                                  EventField.logicalTime: slot.iso8601])
                case .storageLost(let problem):
                    logger.critical("\(problem); no run starts until it can be written, running runs go on and are recorded once it can")
                    lastStatus = ""
                    publishMetrics()
                case .probeStore:
                    let store = daemon.store, inbox = daemon.inbox
                    Task {
                        do {
                            try await store.probe()
                            inbox.send(.storeProbed(nil))
                        } catch {
                            inbox.send(.storeProbed(Self.problem(error)))
                        }
                    }
                case .storageBack(let since, let unrecorded, let slots):
                    let seconds = (Self.now() - since).components.seconds
                    logger.notice("the run store \(daemon.store.path) can be written again after \(seconds)s; recording \(unrecorded) run end(s) and \(slots) slot(s) held meanwhile; runs start again")
                    lastStatus = ""
                    publishMetrics()
                case .exitForRestart(let problem):
                    logger.critical("\(problem); renkeid stops so that it is started again on the file at \(daemon.store.path)")
                    daemon.notifier.status("stopping: \(problem.summary)")
                    daemon.exitStatus.set(1)
                case .notify(let notice):
                    sendNotice(notice)
                case .notificationFailed(let notice, let message, let retryAt):
                    let next = retryAt.map { "tried again at \(LogicalTime($0, zoneIdentifier: machineZone).iso8601) (attempt \(notice.attempt + 1))" }
                        ?? "given up after \(notice.attempt) attempts (notify.retry)"
                    logger.event(.notificationFailed, .error, "the \(notice.event) notice by \(notice.channel.name)\(Self.about(notice)) was not sent: \(message); \(next). Runs are not affected; renkeictl status shows it",
                                 Self.noticeFields(notice))
                case .stopped:
                    done = true
                }
            }
        }

        /// The journal entry of a write the core asked for.
        func log(_ effect: DaemonEffect) {
            switch effect {
            case .recordSkipped(let name, let logicalTime, let reason), .recordMissed(let name, let logicalTime, let reason, _):
                let missed = if case .recordMissed = effect { true } else { false }
                let slot = LogicalTime(logicalTime, zoneIdentifier: view.zoneName(of: name))
                let state: RunState = missed ? .missed : .skipped
                logger.event(missed ? .slotMissed : .slotSkipped, missed ? .warning : .info, "\(name): slot \(slot.iso8601) \(state.rawValue): \(reason)",
                             [EventField.job: name.rawValue, EventField.logicalTime: slot.iso8601, EventField.state: state.rawValue])
            case .recordCancelled(let runID, let job, let user):
                logger.event(.runCancelled, .notice, "\(job) run \(runID) was cancelled by \(user) before it started",
                             [EventField.job: job.rawValue, EventField.runID: runID.description, EventField.requestedBy: user])
            case .recordNotRun(let runID, let job, let message):
                logger.event(.runCancelled, .warning, "\(job) run \(runID) \(message)", [EventField.job: job.rawValue, EventField.runID: "\(runID)"])
            case .recordUpstreamFailed(let runID, let job, let message):
                logger.event(.upstreamFailed, .error, "\(job) run \(runID) failed: \(message) (after fixing them: renkeictl rerun \(runID))",
                             [EventField.job: job.rawValue, EventField.runID: "\(runID)", EventField.state: RunState.failed.rawValue,
                              "RENKEI_ERROR_CLASS": ErrorClass.upstream.rawValue])
            case .recordEnd(let runID, let job, let outcome):
                logger.notice("\(job): run \(runID) recorded \(outcome.state.rawValue) now that the store can be written: \(outcome.message ?? "")",
                              metadata: [EventField.job: "\(job)", EventField.runID: "\(runID)"])
            case .recordDeadlineBreach(let breach):
                let zone = view.zoneName(of: breach.job)
                let slot = LogicalTime(breach.logicalTime, zoneIdentifier: zone)
                let deadline = LogicalTime(breach.deadline, zoneIdentifier: zone)
                let what = breach.kind == .startBy ? "had not started" : "had not finished"
                logger.event(.deadlineBreached, .warning, "\(breach.job): the run for \(slot.iso8601) \(what) by its deadline \(deadline.iso8601) (\(breach.kind.rawValue))",
                             [EventField.job: breach.job.rawValue, EventField.logicalTime: slot.iso8601, "RENKEI_DEADLINE": breach.kind.rawValue])
            default:
                break
            }
        }

        /// A loaded daemon skips thousands of slots a second: beyond this many at once, the rest are
        /// logged as one line (each still gets its row), so that the journal never holds the loop up.
        static let slotsLoggedOneByOne = 20

        /// Logs the slots that were not run and writes their rows in one write; slots the store
        /// refuses go back to the core, which holds them until it can be written.
        func recordSlots(_ slots: [DaemonEffect]) {
            for slot in slots.prefix(Self.slotsLoggedOneByOne) { log(slot) }
            if slots.count > Self.slotsLoggedOneByOne {
                let rest = slots.count - Self.slotsLoggedOneByOne
                let skipped = slots.dropFirst(Self.slotsLoggedOneByOne).filter { if case .recordSkipped = $0 { true } else { false } }.count
                let since = LogicalTime(Self.now(), zoneIdentifier: machineZone).iso8601.prefix(19)
                logger.event(.slotSkipped, .warning,
                             "\(rest) more slots not run just now (\(skipped) skipped, \(rest - skipped) missed): renkeid is busier than it can run; each has its row (renkeictl history --since '\(since)')",
                             [EventField.state: RunState.skipped.rawValue, "RENKEI_SLOTS": String(rest)])
            }
            let rows: [RunStore.SlotRow] = slots.compactMap { slot in
                switch slot {
                case .recordSkipped(let name, let logicalTime, let reason):
                    guard let job = jobs[name]?.job else { return nil }
                    return RunStore.SlotRow(job: job, logicalTime: LogicalTime(logicalTime, zoneIdentifier: view.zoneName(of: name)), state: .skipped, reason: reason)
                case .recordMissed(let name, let logicalTime, let reason, let storage):
                    guard let job = jobs[name]?.job else { return nil }
                    return RunStore.SlotRow(job: job, logicalTime: LogicalTime(logicalTime, zoneIdentifier: view.zoneName(of: name)), state: .missed,
                                            reason: reason, errorClass: storage ? .storage : .missed)
                default:
                    return nil
                }
            }
            let store = daemon.store, inbox = daemon.inbox, logger = daemon.logger
            Task {
                do {
                    try await store.recordSlots(rows, at: Date())
                } catch let failure as StoreFailure {
                    for slot in slots { inbox.send(.writeFailed(slot, Self.problem(failure))) }
                } catch {
                    logger.error("cannot record \(rows.count) slot(s) not run: \(error)")
                }
            }
        }

        /// Writes one of the core's records through the store's one writer; a write the store
        /// refuses goes back to the core, which holds it until the store can be written.
        func write(_ effect: DaemonEffect) {
            let store = daemon.store, inbox = daemon.inbox, logger = daemon.logger
            let zone: String = switch effect {
            case .recordDeadlineBreach(let breach): view.zoneName(of: breach.job)
            default: machineZone
            }
            Task {
                do {
                    switch effect {
                    case .recordCancelled(let runID, _, let user):
                        try await store.cancelQueued(runID: runID.rawValue, message: "cancelled by \(user) before it started", at: Date())
                    case .recordEnd(let runID, _, let outcome):
                        try await store.finish(runID: runID.rawValue, outcome: outcome, at: Date())
                    case .recordNotRun(let runID, _, let message):
                        try await store.cancelQueued(runID: runID.rawValue, message: message, at: Date())
                    case .recordUpstreamFailed(let runID, _, let message):
                        try await store.finish(runID: runID.rawValue, outcome: RunOutcome(state: .failed, errorClass: .upstream, message: message), at: Date())
                    case .recordDeadlineBreach(let breach):
                        let slot = LogicalTime(breach.logicalTime, zoneIdentifier: zone)
                        try await store.recordDeadlineBreach(job: breach.job.rawValue, logicalTime: slot.epochSeconds, kind: breach.kind.rawValue,
                                                             deadline: Date(timeIntervalSince1970: TimeInterval(breach.deadline.secondsSinceEpoch)), at: Date())
                    default:
                        return
                    }
                } catch let failure as StoreFailure {
                    inbox.send(.writeFailed(effect, Self.problem(failure)))
                } catch is RunState.InvalidTransition {
                    // The run's end was on record after all (its commit failed to report success).
                } catch {
                    logger.error("cannot record \(effect): \(error)")
                }
            }
        }

        /// Records a slot `waiting` for its upstreams; the row comes back by mail.
        func recordWaiting(_ planned: PlannedRun, for upstreams: [JobName], until: Instant) {
            guard let loaded = jobs[planned.job] else { return }
            let zone = view.zoneName(of: planned.job)
            let logical = LogicalTime(planned.logicalTime, zoneIdentifier: zone)
            let untilText = LogicalTime(until, zoneIdentifier: zone).iso8601
            let names = upstreams.map(\.rawValue).joined(separator: ", ")
            let date = core.chains.date(of: planned.job, at: planned.logicalTime)
            let message = "waiting for \(names) to succeed for \(date) (after_wait: until \(untilText))"
            let request = RunRequest(job: loaded, logicalTime: logical, trigger: planned.trigger, attempt: planned.attempt, retryOf: planned.retryOf?.rawValue)
            let store = daemon.store, inbox = daemon.inbox, logger = daemon.logger, owner = daemon.runner.owner
            Task {
                do {
                    let row = try await store.recordWaiting(NewRun(job: loaded.job, logicalTime: logical, trigger: planned.trigger, attempt: planned.attempt),
                                                            message: message, owner: owner, at: Date())
                    logger.event(.runWaiting, .notice, "\(planned.job) run \(row.id!) for \(logical.iso8601) is \(message)",
                                 [EventField.job: planned.job.rawValue, EventField.runID: "\(row.id!)", EventField.logicalTime: logical.iso8601,
                                  EventField.state: RunState.waiting.rawValue])
                    inbox.send(.waiting(request, row, planned, until: until))
                } catch let failure as StoreFailure {
                    inbox.send(.writeFailed(.recordWaiting(planned, waitsFor: upstreams, until: until), Self.problem(failure)))
                } catch {
                    logger.error("\(planned.job): cannot record the slot \(logical.iso8601) waiting for its upstreams: \(error)")
                }
            }
        }

        /// Starts the run in a task of its own; it reports its row and its end by mail.
        mutating func startRun(_ planned: PlannedRun) {
            let request: RunRequest
            var queued: RunRecord?
            if let id = planned.queuedRunID, let entry = requests.removeValue(forKey: id) {
                request = entry.request
                queued = entry.row
            } else if let loaded = jobs[planned.job] {
                request = RunRequest(job: loaded, logicalTime: view.logical(planned), trigger: planned.trigger, attempt: planned.attempt, retryOf: planned.retryOf?.rawValue)
            } else {
                daemon.inbox.send(.runFinished(planned.job, .lost("the job's file was removed")))
                runs[planned.job] = (Task {}, CancellationReason())
                return
            }
            let runner = daemon.runner, inbox = daemon.inbox, job = planned.job, row = queued
            let task = Task {
                let finish: RunFinish
                do {
                    finish = .recorded(try await runner.perform(request, queued: row) { row in inbox.send(.runStarted(row)) })
                } catch let busy as RunLock.Busy {
                    finish = .refused("another process holds the job's lock (\(busy.holder.map { "pid \($0)" } ?? "unknown"), e.g. renkeictl run --local)")
                } catch let lost as RunNotRecorded {
                    finish = .notRecorded(lost)
                } catch {
                    finish = .lost("\(error)")
                }
                inbox.send(.runFinished(job, finish))
            }
            runs[job] = (task, request.cancellation)
        }

        static func problem(_ error: any Error) -> StorageProblem {
            guard let failure = error as? StoreFailure else { return StorageProblem("the run store cannot be written: \(error)", summary: "\(error)") }
            return StorageProblem(failure.description, summary: "\(failure.problem) (\(failure.path))", needsRestart: failure.needsRestart)
        }

        // MARK: - Time and systemd

        /// Arms the timer for the core's next wake-up: at least every minute (a wall clock that
        /// jumped is seen within a minute) and every half watchdog period. An earlier timer stays.
        mutating func armTimer() {
            let now = Self.now()
            var wake = now + .seconds(60)
            if let next = core.nextWakeUp(now: now) { wake = min(wake, next) }
            if let interval = daemon.notifier.watchdogInterval {
                wake = min(wake, now + interval / 2)
            }
            if let timer, timer.at <= wake { return }
            timer?.task.cancel()
            let inbox = daemon.inbox
            let delay = max(wake - now, .zero)
            timer = (wake, Task {
                // No tolerance: a slot is due at its instant, and the default lets the timer fire late.
                guard (try? await Task.sleep(for: delay, tolerance: .zero)) != nil else { return }
                inbox.send(.tick)
            })
        }

        /// `STATUS=` when it changed (looked at no more than 5 times a second), `WATCHDOG=1` on time.
        mutating func keepSystemdInformed() {
            if let interval = daemon.notifier.watchdogInterval, ContinuousClock.now - lastWatchdog >= interval * 0.5 {
                daemon.notifier.watchdog()
                lastWatchdog = ContinuousClock.now
            }
            guard lastStatus.isEmpty || timer == nil || ContinuousClock.now - lastStatusAt >= .milliseconds(200) else { return }
            lastStatusAt = ContinuousClock.now
            let text = view.statusLine
            if text != lastStatus {
                daemon.notifier.status(text)
                lastStatus = text
            }
        }

        // MARK: - Jobs

        /// Loads the jobs directory. On reload, a file that no longer parses keeps its previous
        /// definition; a changed schedule continues from now; an added job starts from now.
        /// Returns how many files had problems.
        @discardableResult
        mutating func loadJobs(initial: Bool) -> Int {
            let catalog = JobLoader.load(directory: daemon.locations.jobs)
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
                        core.scheduler.update(loaded.job, schedule: schedule, now: now)
                        logger.info("\(name): new definition loaded", metadata: [EventField.job: "\(name)"])
                    }
                } else if initial {
                    let last = (try? daemon.store.lastSlot(job: name.rawValue)).flatMap { $0 }.map(Instant.init(secondsSinceEpoch:))
                    core.scheduler.add(loaded.job, schedule: schedule, lastSlot: last, now: now)
                } else {
                    core.scheduler.add(loaded.job, schedule: schedule, lastSlot: nil, now: now)
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
                    core.scheduler.remove(name)
                    jobs[name] = nil
                    logger.info("\(name): job file removed; not scheduled any more", metadata: [EventField.job: "\(name)"])
                }
            }
            zones = jobs.mapValues { DaemonView.zone(of: $0.job, machineZone: machineZone) }
            defineChains()
            return Set(catalog.problems.map(\.file)).count
        }

        /// Which job waits for which (`after:`), with each job's zone: dates are matched in it.
        mutating func defineChains() {
            var links: [JobName: Chains.Link] = [:], zones: [JobName: ZoneRules] = [:]
            for (name, loaded) in jobs {
                let zone = ZoneRules.named(view.zoneName(of: name)) ?? .utc
                zones[name] = zone
                guard !loaded.job.after.isEmpty else { continue }
                links[name] = Chains.Link(upstreams: loaded.job.after, wait: .seconds(loaded.job.afterWait.seconds),
                                          scheduled: loaded.job.schedule != nil, zone: zone)
            }
            core.chains.define(links, zones: zones)
        }

        /// What the store knows of the chains: the runs still waiting (a wait survives a restart),
        /// and what each chained job did on the dates a wait can still care about.
        mutating func restoreChains() {
            let chained = jobs.keys.filter { core.chains.isChained($0) }
            guard !chained.isEmpty else { return }
            let longest = chained.compactMap { jobs[$0]?.job.afterWait.seconds }.max() ?? 0
            let since = Self.now().secondsSinceEpoch - max(longest, 86_400) - 86_400
            for run in (try? daemon.store.chainHistory(jobs: chained.map(\.rawValue), since: since)) ?? [] {
                guard let job = JobName(run.job) else { continue }
                core.chains.ended(job, logical: Instant(secondsSinceEpoch: run.logicalTime), run: RunID(run.id!), state: run.state)
            }
            for row in (try? daemon.store.waitingRuns()) ?? [] {
                guard let job = JobName(row.job), let loaded = jobs[job] else { continue }
                if row.trigger == .rerun || row.trigger == .manual {
                    // A rerun of a `rerun --downstream` plan: the plan's order was in memory.
                    let message = "not run: renkeid restarted while it waited for the reruns before it (rerun --downstream); rerun it by hand once they succeeded"
                    perform([.recordNotRun(run: RunID(row.id!), job: job, message: message)])
                    continue
                }
                let logical = LogicalTime(epochSeconds: row.logicalTime, zoneIdentifier: row.logicalZone)
                let planned = PlannedRun(job: job, logicalTime: logical.instant, trigger: row.trigger, attempt: row.attempt, dueAt: Instant(row.queuedAt))
                let until = Instant(row.queuedAt) + .seconds(loaded.job.afterWait.seconds)
                requests[RunID(row.id!)] = (RunRequest(job: loaded, logicalTime: logical, trigger: row.trigger, attempt: row.attempt), row)
                perform(core.handle(.waitRecorded(planned, run: RunID(row.id!), until: until), now: Self.now()))
            }
            perform(core.resumeChains(now: Self.now()))
        }

        // MARK: - Trigger files

        /// Starts (or, on reload, changes) the watch of every job's `trigger:` directory. At start,
        /// files claimed by a renkeid that stopped before their run was recorded get their run.
        mutating func watchTriggerDirectories() {
            let watches = jobs.values.compactMap { TriggerWatch($0.job, machineZone: machineZone) }
            if let triggers {
                triggers.replace(watches)
                return
            }
            for claimed in (try? daemon.store.triggerFilesWithoutRun()) ?? [] {
                guard let job = JobName(claimed.job), let loaded = jobs[job] else { continue }
                let logical = (try? LogicalTime.parse(claimed.logicalDate, zoneIdentifier: view.zoneName(of: job)))
                    ?? LogicalTime(Self.now(), zoneIdentifier: view.zoneName(of: job))
                recordFileRun(loaded, file: claimed.path, logical: logical, claim: claimed.id!)
            }
            guard !watches.isEmpty else { return }
            let inbox = daemon.inbox
            triggers = TriggerWatcher(watches) { arrival in inbox.send(.fileArrived(arrival)) }
        }

        /// A complete file arrived: claimed once by its content (the same bytes under another name,
        /// or again after a restart, start nothing), then its run is recorded `queued` with the file
        /// and joins the queue like an operator's run — never skipped, since the file is spent.
        func startRun(for arrival: TriggerArrival) {
            guard let loaded = jobs[arrival.job] else { return }
            let zone = view.zoneName(of: arrival.job)
            let logical: LogicalTime
            if let named = arrival.logicalDate, let midnight = try? LogicalTime.parse(named.description, zoneIdentifier: zone) {
                logical = midnight
            } else {
                logical = LogicalTime(Instant(secondsSinceEpoch: Int64(arrival.arrivedAt)), zoneIdentifier: zone)
            }
            let store = daemon.store, logger = daemon.logger
            let file = arrival.path, job = arrival.job
            let loop = FileRunRecorder(runner: daemon.runner, store: store, inbox: daemon.inbox, logger: logger)
            Task {
                do {
                    switch try await store.claimTriggerFile(job: job.rawValue, path: file, sha256: arrival.sha256, bytes: arrival.bytes,
                                                            logicalDate: arrival.date.description, at: Date()) {
                    case .new(let id):
                        await loop.record(loaded, file: file, logical: logical, claim: id)
                    case .alreadySeen(let run, let path):
                        let earlier = run.map { "run \($0)" } ?? "a run being started"
                        logger.notice("\(job): \(file) holds the same content as \(path), which already started \(earlier); no second run",
                                      metadata: [EventField.job: "\(job)", "RENKEI_FILE": "\(file)"])
                    }
                } catch let failure as StoreFailure {
                    daemon.inbox.send(.storeFailed(Self.problem(failure)))
                    logger.error("\(job): cannot record the arrival of \(file): \(failure); it is taken again once the store can be written (rescan or restart)")
                } catch {
                    logger.error("\(job): cannot record the arrival of \(file): \(error)")
                }
            }
        }

        func recordFileRun(_ loaded: LoadedJob, file: String, logical: LogicalTime, claim: Int64) {
            let recorder = FileRunRecorder(runner: daemon.runner, store: daemon.store, inbox: daemon.inbox, logger: daemon.logger)
            Task { await recorder.record(loaded, file: file, logical: logical, claim: claim) }
        }

        mutating func reload() {
            daemon.notifier.reloading()
            loadSiteConfiguration(initial: false)
            let broken = loadJobs(initial: false)
            configureNotifications()
            let problems = broken == 0 ? "" : "; \(broken) file(s) with errors"
            logger.event(.daemonReloaded, .notice, "renkeid reloaded the job files from \(daemon.locations.jobs): \(jobs.count) jobs\(problems)")
            watchTriggerDirectories()
            lastStatus = view.statusLine
            daemon.notifier.ready(status: lastStatus)
            perform(core.handle(.tick, now: Self.now()))
            publishMetrics()
        }
    }
}
