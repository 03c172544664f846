/// Which slots are due, and what becomes of each: on time, late (catch-up), closed day, overlap.
extension Scheduler {
    /// At most this many slots of one job are handled per `advance`; a longer backlog (a per-second
    /// job after a week down) is worked off over the following calls, each slot still recorded.
    static let slotsPerAdvance = 10_000

    mutating func dueSlots(of name: JobName, now: Instant) -> [SchedulerAction] {
        guard var state = jobs[name], !state.removed, state.schedule != nil else { return [] }
        var actions: [SchedulerAction] = []
        var late: [Slot] = []
        var onTime: [Slot] = []
        var backlogLeft = false
        var count = 0
        while let slot = state.upcoming, slot.due <= now {
            if count == Self.slotsPerAdvance {
                backlogLeft = true
                break
            }
            count += 1
            state.cursor = slot.logical
            switch slot.disposition {
            case .skippedClosedDay:
                actions.append(.recordSkipped(job: name, logicalTime: slot.logical, reason: "closed day (on_closed_day: skip)"))
            case .open, .moved:
                let runAt = slot.runInstant!
                if runAt < state.lateBefore || now - runAt > lateness { late.append(slot) } else { onTime.append(slot) }
            }
        }
        jobs[name] = state

        if !late.isEmpty {
            let window = state.job.catchUpWindow.duration
            let inWindow = late.filter { now - $0.logical <= window }
            for slot in late where now - slot.logical > window {
                actions.append(.recordMissed(job: name, logicalTime: slot.logical,
                                             reason: "\(state.lateReason) and it is older than catch_up_window (\(state.job.catchUpWindow))"))
            }
            var toRun: [Slot]
            switch state.job.catchUp {
            case .all: toRun = inWindow
            case .latest: toRun = backlogLeft ? [] : Array(inWindow.suffix(1))
            case .none: toRun = []
            }
            // A newer slot on time supersedes late ones under `latest`.
            if state.job.catchUp == .latest && !onTime.isEmpty { toRun = [] }
            let running = Set(toRun.map(\.logical))
            for slot in inWindow where !running.contains(slot.logical) {
                let why = state.job.catchUp == .none ? "catch_up: none" : "catch_up: latest runs only the newest missed slot"
                actions.append(.recordMissed(job: name, logicalTime: slot.logical, reason: "\(state.lateReason) (\(why))"))
            }
            actions.append(.catchUpStarted(job: name, late: late.count, running: toRun.count))
            for slot in toRun {
                actions += plan(slot, of: name, trigger: .catchUp, now: now)
            }
        }
        for slot in onTime {
            actions += plan(slot, of: name, trigger: .schedule, now: now)
        }
        return actions
    }

    /// A due slot of a running job: skipped or queued, as the job's `overlap` says; else queued to start.
    mutating func plan(_ slot: Slot, of name: JobName, trigger: Trigger, now: Instant) -> [SchedulerAction] {
        guard let state = jobs[name] else { return [] }
        let busy = state.active != nil || !state.pending.isEmpty
        // Catch-up runs are the policy's own choice: they run one after another, never skipped.
        if busy && state.job.overlap == .skip && trigger != .catchUp {
            let previous = state.active ?? state.pending.first!
            let previousTime = LogicalTime(previous.logicalTime, zoneIdentifier: state.schedule?.effectiveZone.identifier ?? "UTC")
            return [.recordSkipped(job: name, logicalTime: slot.logical,
                                   reason: "the run for \(previousTime.iso8601) was still running (overlap: skip)")]
        }
        let run = PlannedRun(job: name, logicalTime: slot.logical, trigger: trigger, dueAt: max(slot.runInstant ?? now, now))
        enqueue(run)
        watchDeadlines(of: run, runDay: slot.due, job: state.job, zone: state.schedule?.effectiveZone ?? .utc)
        return []
    }

    /// Deadlines are local times on the day the slot runs (its own day, or the open day it moved to).
    mutating func watchDeadlines(of run: PlannedRun, runDay: Instant, job: Job, zone: ZoneRules) {
        guard let deadline = job.deadline else { return }
        let clock = WallClock(zone: zone)
        let day = clock.localTime(runDay.secondsSinceEpoch)
        for (kind, time) in [(DeadlineBreach.Kind.startBy, deadline.startBy), (.finishBy, deadline.finishBy)] {
            guard let time else { continue }
            var fields = BrokenDownTime(year: day.year, month: day.month, day: day.day, hour: time.hour, minute: time.minute, second: time.second)
            var fresh = WallClock(zone: zone)
            let instant = Instant(secondsSinceEpoch: fresh.makeTime(&fields))
            deadlines.append(DeadlineWatch(breach: DeadlineBreach(job: run.job, logicalTime: run.logicalTime, kind: kind, deadline: instant)))
        }
    }

    /// Deadlines that passed unmet.
    mutating func checkDeadlines(now: Instant) -> [SchedulerAction] {
        var actions: [SchedulerAction] = []
        for index in deadlines.indices where !deadlines[index].satisfied && deadlines[index].breach.deadline <= now {
            deadlines[index].satisfied = true
            actions.append(.deadlineBreached(deadlines[index].breach))
        }
        deadlines.removeAll(where: \.satisfied)
        return actions
    }
}

/// The calendar counts in microseconds since the epoch; the scheduler reads its slots here, and
/// nowhere else, as instants.
extension Slot {
    /// The elapse the slot serves.
    var logical: Instant { Instant(microsecondsSinceEpoch: logicalTime) }
    /// When it runs; nil when a closed day skips it.
    var runInstant: Instant? { runAt.map(Instant.init(microsecondsSinceEpoch:)) }
    /// When it is due: its run time, or its own time when a closed day skips it.
    var due: Instant { runInstant ?? logical }
}

extension JobSchedule {
    /// The first slot whose logical time is strictly after `instant`.
    func nextSlot(after instant: Instant) -> Slot? { nextSlot(after: instant.microsecondsSinceEpoch) }
}
