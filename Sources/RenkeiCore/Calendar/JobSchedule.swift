/// One slot of a job: the logical time it serves and when it runs. They differ only when the
/// slot fell on a closed day and `on_closed_day` moved it.
public struct Slot: Sendable, Equatable {
    /// The elapse of the schedule, in microseconds since the epoch; a moved slot keeps it.
    public let logicalTime: Int64
    /// When to run; nil when the slot is skipped.
    public let runAt: Int64?
    public let disposition: Disposition

    public enum Disposition: Sendable, Equatable {
        /// An open day: runs at its own time.
        case open
        /// A closed day and `on_closed_day: skip`: recorded `skipped`.
        case skippedClosedDay
        /// A closed day, run at the same time on the previous (`before`) or next (`after`) open day.
        case moved
    }
}

/// A job's schedule with everything that bends it: the zone, the closed days and what a closed
/// day does to a slot.
public struct JobSchedule: Sendable {
    public let schedule: Schedule
    /// The job's zone; an expression with its own zone uses that instead.
    public let zone: ZoneRules
    public let closedDays: ClosedDays
    public let onClosedDay: OnClosedDay

    public init(schedule: Schedule, zone: ZoneRules, closedDays: ClosedDays = ClosedDays(), onClosedDay: OnClosedDay = .skip) {
        self.schedule = schedule
        self.zone = zone
        self.closedDays = closedDays
        self.onClosedDay = onClosedDay
    }

    /// Where the slot's day is read: the expression's own zone, else the job's.
    public var effectiveZone: ZoneRules { schedule.ownZone ?? zone }

    /// The first slot whose logical time is strictly after `after`.
    public func nextSlot(after: Int64) -> Slot? {
        guard let elapse = schedule.nextElapse(after: after, in: zone) else { return nil }
        let clock = WallClock(zone: effectiveZone)
        let local = clock.localTime(CivilTime.floorDiv(elapse, 1_000_000))
        let day = JapaneseHolidays.Day(year: local.year, month: local.month + 1, day: local.day)
        guard !closedDays.isEmpty, closedDays.isClosed(day) else {
            return Slot(logicalTime: elapse, runAt: elapse, disposition: .open)
        }
        switch onClosedDay {
        case .skip:
            return Slot(logicalTime: elapse, runAt: nil, disposition: .skippedClosedDay)
        case .before, .after:
            let direction = onClosedDay == .before ? -1 : 1
            var candidate = day.days
            // A year has at most a few dozen closed days in a row (with maintenance files, say).
            for _ in 0..<400 {
                candidate += direction
                if !closedDays.isClosed(JapaneseHolidays.Day(days: candidate)) { break }
            }
            let open = JapaneseHolidays.Day(days: candidate)
            var moved = local
            moved.year = open.year
            moved.month = open.month - 1
            moved.day = open.day
            moved.isDST = -1
            var fresh = WallClock(zone: effectiveZone)
            let seconds = fresh.makeTime(&moved)
            let fraction = elapse - CivilTime.floorDiv(elapse, 1_000_000) * 1_000_000
            return Slot(logicalTime: elapse, runAt: seconds * 1_000_000 + fraction, disposition: .moved)
        }
    }

    /// The next `count` slots after `after`, in logical order.
    public func slots(after: Int64, count: Int) -> [Slot] {
        var slots: [Slot] = []
        var cursor = after
        while slots.count < count, let slot = nextSlot(after: cursor) {
            slots.append(slot)
            cursor = slot.logicalTime
        }
        return slots
    }
}
