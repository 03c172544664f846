import Foundation
import Logging
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime

/// The leader's work on PostgreSQL, one pass at a time, each write fenced by its term: the
/// calendar of every job (the pure `Scheduler`, started from the ledger's cursors) turned into
/// slot rows, silent nodes declared dead, and the retries their runs are owed.
///
/// The scheduler here only enumerates slots (catch-up, closed days, `missed` as on one machine);
/// runs are claimed and run by any node. A job's runs never overlap across nodes
/// (`run_one_running_per_job`); `overlap: skip` is judged against the runs on record.
struct ClusterLedger: Sendable {
    let jobs: [String: LoadedJob]
    let machineZone: String
    private var scheduler = Scheduler(maxConcurrent: 1_000)
    private var started = false

    init(jobs: [String: LoadedJob], machineZone: String) {
        self.jobs = jobs
        self.machineZone = machineZone
    }

    /// Why a job's slots are recorded `skipped` on PostgreSQL rather than run: what a node does
    /// not do yet and the job relies on (running a chained job without waiting for its upstreams
    /// would deliver data before it exists). Nil: it runs.
    static func notRunHere(_ job: Job) -> String? {
        if !job.after.isEmpty {
            return "renkeid on PostgreSQL does not run chains yet (after: \(job.after.map(\.rawValue).joined(separator: ", "))); run this job on a renkeid with the SQLite store"
        }
        return nil
    }

    /// When the next slot of any job is due.
    var nextWakeUp: Instant? { started ? scheduler.nextWakeUp(now: Instant(Date())) : nil }

    /// The zone of a job's logical times: its schedule's, else the machine's.
    func zone(of job: String) -> String {
        jobs[job]?.job.jobSchedule(machineZone: machineZone)?.effectiveZone.identifier ?? machineZone
    }

    /// One pass. Throws `FencedOut` when the term is over (nothing was written), or the failure
    /// of a statement; either way the caller starts a new ledger from what is on record.
    mutating func pass(_ session: PostgresSession, lease: LeaderLease, epoch: Int64, node: NodeState, logger: Logger) async throws {
        if !started { try await takeOver(session, lease: lease, epoch: epoch) }
        try await recordDueSlots(session, lease: lease, epoch: epoch, node: node, logger: logger)
        try await reap(session, lease: lease, epoch: epoch, logger: logger)
        try await queueOwedRetries(session, lease: lease, epoch: epoch, logger: logger)
        try await actOnRequests(session, lease: lease, epoch: epoch, node: node, logger: logger)
    }

    /// Each job's calendar from its cursor; a job no leader has seen gets its cursor at now.
    private mutating func takeOver(_ session: PostgresSession, lease: LeaderLease, epoch: Int64) async throws {
        let now = Instant(Date())
        for (name, loaded) in jobs.sorted(by: { $0.key < $1.key }) {
            guard let schedule = loaded.job.jobSchedule(machineZone: machineZone) else { continue }
            var cursor = try await SlotLedger.lastSlot(session, job: name)
            if cursor == nil {
                switch try await SlotLedger.startCursor(job: name, at: now.secondsSinceEpoch, session, lease: lease, epoch: epoch) {
                case .written(let start): cursor = start
                case .fenced(let refusal): throw refusal
                }
            }
            scheduler.takeOver(loaded.job, schedule: schedule, lastSlot: Instant(secondsSinceEpoch: cursor!), now: now)
        }
        started = true
    }

    private mutating func recordDueSlots(_ session: PostgresSession, lease: LeaderLease, epoch: Int64, node: NodeState, logger: Logger) async throws {
        let now = Instant(Date())
        var actions = scheduler.advance(to: now)
        guard !actions.isEmpty else { return }
        // A held job's automatic slots are recorded skipped, as on one machine (`Hold`).
        let holds = try await ClusterHolds.current(session).filter { ClusterHolds.isHolding($0.value, at: now) }
        var slots: [LedgerSlot] = []
        var queuedNow: Set<String> = []
        var index = 0
        while index < actions.count {
            let action = actions[index]
            index += 1
            switch action {
            case .start(let run):
                guard let loaded = jobs[run.job.rawValue] else { continue }
                let name = run.job.rawValue
                var outcome = LedgerSlot.Outcome.queued
                if let hold = holds[name], run.trigger != .manual {
                    outcome = .skipped(reason: hold.skipReason)
                } else if loaded.job.overlap == .skip && run.trigger == .schedule {
                    if let busy = try await SlotLedger.busyRun(session, job: name) {
                        let previous = LogicalTime(epochSeconds: busy.logicalTime, zoneIdentifier: busy.zone)
                        outcome = .skipped(reason: "the run for \(previous.iso8601) was still running (overlap: skip)")
                    } else if queuedNow.contains(name) {
                        outcome = .skipped(reason: "an earlier slot of this job was queued in the same pass (overlap: skip)")
                    }
                }
                if let reason = Self.notRunHere(loaded.job) { outcome = .skipped(reason: reason) }
                if outcome == .queued { queuedNow.insert(name) }
                var slot = LedgerSlot(loaded.job, logicalTime: run.logicalTime.secondsSinceEpoch, zone: zone(of: name), outcome: outcome)
                slot.trigger = run.trigger
                slots.append(slot)
                // The run is the nodes' now: the calendar goes on as if it ended at once.
                scheduler.runStarted(run)
                actions += scheduler.runEnded(run, runID: RunID(0), state: .succeeded, now: now)
            case .recordSkipped(let job, let logicalTime, let reason):
                guard let loaded = jobs[job.rawValue] else { continue }
                slots.append(LedgerSlot(loaded.job, logicalTime: logicalTime.secondsSinceEpoch, zone: zone(of: job.rawValue), outcome: .skipped(reason: reason)))
            case .recordMissed(let job, let logicalTime, let reason):
                guard let loaded = jobs[job.rawValue] else { continue }
                slots.append(LedgerSlot(loaded.job, logicalTime: logicalTime.secondsSinceEpoch, zone: zone(of: job.rawValue),
                                        outcome: .missed(reason: reason, errorClass: .missed)))
            case .catchUpStarted(let job, let late, let running):
                logger.event(.catchUpStarted, .notice, "\(job): \(late) slot(s) came due while no node led; running \(running) as catch_up says",
                             [EventField.job: job.rawValue])
            case .deadlineBreached, .retryScheduled:
                // Deadlines and retries are the nodes' (a run's end queues its retry); not the calendar's here.
                continue
            }
        }
        guard !slots.isEmpty else { return }
        // In calendar order, so run ids rise with logical time as on one machine.
        slots.sort { ($0.job, $0.logicalTime) < ($1.job, $1.logicalTime) }
        switch try await SlotLedger.record(slots, session, lease: lease, epoch: epoch) {
        case .fenced(let refusal):
            throw refusal
        case .written(let entry):
            if entry.recorded.contains(where: { $0.slot.outcome == .queued }) { node.change { $0.runsQueued = true } }
            for (slot, runID) in entry.recorded {
                let time = LogicalTime(epochSeconds: slot.logicalTime, zoneIdentifier: slot.zone)
                var fields = [EventField.job: slot.job, EventField.logicalTime: time.iso8601, EventField.runID: "\(runID)",
                              EventField.epoch: "\(epoch)"]
                switch slot.outcome {
                case .queued:
                    logger.info("\(slot.job): slot \(time.iso8601) recorded, run \(runID) queued for any node", metadata: fields.mapValues { .string($0) })
                case .skipped(let reason):
                    fields[EventField.state] = RunState.skipped.rawValue
                    logger.event(.slotSkipped, .info, "\(slot.job): slot \(time.iso8601) skipped: \(reason)", fields)
                case .missed(let reason, _):
                    fields[EventField.state] = RunState.missed.rawValue
                    logger.event(.slotMissed, .warning, "\(slot.job): slot \(time.iso8601) missed: \(reason)", fields)
                }
            }
        }
    }

    private func reap(_ session: PostgresSession, lease: LeaderLease, epoch: Int64, logger: Logger) async throws {
        switch try await DeadNodeReaper(lease: lease).sweep(session, epoch: epoch) {
        case .fenced(let refusal):
            throw refusal
        case .written(.tooSoon):
            return
        case .written(.reaped(let reaping)):
            for dead in reaping.declared {
                let runs = reaping.interrupted.filter { $0.node == dead.name }
                let named = runs.map { "run \($0.runID) (\($0.job))" }.joined(separator: ", ")
                logger.event(.nodeDeclaredDead, .error,
                             "node \(dead.name) (incarnation \(dead.incarnation.short)) stopped heartbeating at \(dead.lastHeartbeat.formatted(.iso8601)); declared dead, \(runs.isEmpty ? "it ran nothing" : "interrupted: \(named); retried elsewhere from \(reaping.retryNotBefore.formatted(.iso8601)) as each job's retry allows")",
                             [EventField.node: dead.name, EventField.incarnation: dead.incarnation.short, EventField.epoch: "\(epoch)"])
            }
        }
    }

    private func queueOwedRetries(_ session: PostgresSession, lease: LeaderLease, epoch: Int64, logger: Logger) async throws {
        let grace = DeadNodeReaper.retryGrace(lease.timings)
        for owed in try await ReapedRunRetries.owed(session) {
            guard let loaded = jobs[owed.job] else { continue }
            switch try await ReapedRunRetries.queue(owed, job: loaded.job, grace: grace, session, lease: lease, epoch: epoch) {
            case .fenced(let refusal):
                throw refusal
            case .written(let retry?):
                logger.event(.retryScheduled, .notice, "\(owed.job): run \(owed.runID) was interrupted with its node; retry queued as run \(retry)",
                             [EventField.job: owed.job, EventField.runID: "\(retry)"])
            case .written(nil):
                continue
            }
        }
    }
}
