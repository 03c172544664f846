/// The next elapse of a calendar expression, found the way systemd finds it (`find_next` in
/// `calendarspec.c`): jump field by field — year, month, day, weekday, hour, minute, second —
/// letting `mktime` normalize the wall-clock fields after each jump, so that daylight-saving
/// gaps and folds land exactly where a systemd timer's would. No minute-by-minute search.
extension CalendarSpec {
    /// The first elapse strictly after `after` (microseconds since the epoch). The expression's
    /// own zone (` UTC`, ` Asia/Tokyo`) wins over `zone`. Nil when it never elapses again.
    public func nextElapse(after: Int64, in zone: ZoneRules) -> Int64? {
        let rules = utc ? ZoneRules.utc : (timezone.flatMap(ZoneRules.named) ?? zone)
        var clock = WallClock(zone: rules)
        let microseconds = after + 1
        let second = CivilTime.floorDiv(microseconds, Int64(Self.microsecondsPerSecond))
        var tm = clock.localTime(second)
        var fraction = Int(microseconds - second * Int64(Self.microsecondsPerSecond))
        guard findNext(&tm, &fraction, clock: &clock) else { return nil }
        let t = clock.makeTime(&tm)
        return t * Int64(Self.microsecondsPerSecond) + Int64(fraction)
    }

    /// The zone the expression is read in, given the job's.
    public func effectiveZone(default zone: ZoneRules) -> ZoneRules {
        utc ? .utc : (timezone.flatMap(ZoneRules.named) ?? zone)
    }

    private func findNext(_ tm: inout BrokenDownTime, _ fraction: inout Int, clock: inout WallClock) -> Bool {
        var c = tm
        var usec = fraction
        func resetBelowDay() { c.hour = 0; c.minute = 0; c.second = 0; usec = 0 }

        for _ in 0..<1000 {
            // The first round normalizes with the DST flag `localtime` gave; later rounds let
            // `mktime` decide (`tm_isdst = -1`), exactly as systemd's loop does.
            _ = clock.makeTime(&c)
            c.isDST = -1

            var year = c.year
            var r = matchComponent(self.year, value: &year)
            c.year = year
            if r > 0 { c.month = 0; c.day = 1; resetBelowDay() }
            if r < 0 { return false }
            if withinBounds(&c, clock: &clock) <= 0 { return false }

            var month = c.month + 1
            r = matchComponent(self.month, value: &month)
            c.month = month - 1
            if r > 0 { c.day = 1; resetBelowDay() }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 { c.year += 1; c.month = 0; c.day = 1; resetBelowDay(); continue }
            if r == 0 { continue }

            var day = c.day
            r = matchDay(tm: c, value: &day, clock: &clock)
            c.day = day
            if r > 0 { resetBelowDay() }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 { c.month += 1; c.day = 1; resetBelowDay(); continue }
            if r == 0 { continue }

            if !matchesWeekday(c, clock: &clock) { c.day += 1; resetBelowDay(); continue }

            var hour = c.hour
            r = matchComponent(self.hour, value: &hour)
            c.hour = hour
            if r > 0 { c.minute = 0; c.second = 0; usec = 0 }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 { c.day += 1; resetBelowDay(); continue }
            // The hour just set may not exist on a daylight-saving day: start again from there.
            if r == 0 { continue }

            var minute = c.minute
            r = matchComponent(self.minute, value: &minute)
            c.minute = minute
            if r > 0 { c.second = 0; usec = 0 }
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 { c.hour += 1; c.minute = 0; c.second = 0; usec = 0; continue }
            if r == 0 { continue }

            var secondValue = c.second * Self.microsecondsPerSecond + usec
            r = matchComponent(self.microsecond, value: &secondValue)
            usec = secondValue % Self.microsecondsPerSecond
            c.second = secondValue / Self.microsecondsPerSecond
            if r >= 0 { r = withinBounds(&c, clock: &clock) }
            if r < 0 { c.minute += 1; c.second = 0; usec = 0; continue }
            if r == 0 { continue }

            tm = c
            fraction = usec
            return true
        }
        // systemd gives up after 1000 rounds too ("Infinite loop in calendar calculation").
        return false
    }

    /// The earliest value of `chain` at or after `value`: 1 if it moved, 0 if `value` matched,
    /// -1 if nothing in the chain is left.
    private func matchComponent(_ chain: [Component], value: inout Int) -> Int {
        guard !chain.isEmpty else { return 0 }
        return Self.earliest(chain.map { ($0.start, $0.stop, $0.repeatEvery) }, atOrAfter: &value)
    }

    /// As `matchComponent`, with `~` turning days into "N-th day from the end of the month".
    private func matchDay(tm: BrokenDownTime, value: inout Int, clock: inout WallClock) -> Int {
        guard endOfMonth, !day.isEmpty else {
            return matchComponent(day, value: &value)
        }
        var ranges: [(start: Int, stop: Int, repeatEvery: Int)] = []
        for c in day {
            var start = endOfMonthDay(tm, c.start, clock: &clock)
            var stop = endOfMonthDay(tm, c.stop, clock: &clock)
            if stop > 0 { swap(&start, &stop) }
            ranges.append((start, stop, c.repeatEvery))
        }
        return Self.earliest(ranges, atOrAfter: &value)
    }

    /// systemd's `find_matching_component` over resolved ranges.
    private static func earliest(_ ranges: [(start: Int, stop: Int, repeatEvery: Int)], atOrAfter value: inout Int) -> Int {
        var best: Int?
        for range in ranges {
            if range.start >= value {
                if best == nil || range.start < best! { best = range.start }
            } else if range.repeatEvery > 0 {
                let k = range.start + range.repeatEvery * ((value - range.start + range.repeatEvery - 1) / range.repeatEvery)
                if (best == nil || k < best!) && (range.stop < 0 || k <= range.stop) { best = k }
            }
        }
        guard let best else { return -1 }
        let changed = value != best
        value = best
        return changed ? 1 : 0
    }

    /// The day of `tm`'s month that is `day` days before the next month's first (`~1` = last day);
    /// -1 when that is not in the month.
    private func endOfMonthDay(_ tm: BrokenDownTime, _ day: Int, clock: inout WallClock) -> Int {
        var t = tm
        t.month += 1
        t.day = 1 - day
        _ = clock.makeTime(&t)
        return t.month == tm.month ? t.day : -1
    }

    /// 1 if `tm` was in range, 0 if normalizing moved it forward (then `tm` is the normalized
    /// time), -1 if it is past 2199 or normalizing went backwards.
    private func withinBounds(_ tm: inout BrokenDownTime, clock: inout WallClock) -> Int {
        if tm.year > Self.maximumYear { return -1 }
        var t = tm
        _ = clock.makeTime(&t)
        var order: Int
        func compare(_ a: Int, _ b: Int) -> Int { a < b ? -1 : (a > b ? 1 : 0) }
        order = compare(t.year, tm.year)
        if order != 0 {
            t.month = 0
        } else {
            order = compare(t.month, tm.month)
            if order != 0 {
                t.day = 1
            } else {
                order = compare(t.day, tm.day)
                if order != 0 {
                    t.hour = 0
                } else {
                    order = compare(t.hour, tm.hour)
                    if order != 0 {
                        t.minute = 0
                    } else {
                        order = compare(t.minute, tm.minute)
                        if order != 0 { t.second = 0 } else { order = compare(t.second, tm.second) }
                    }
                }
            }
        }
        if order < 0 { return -1 }
        if order > 0 { tm = t }
        return order == 0 ? 1 : 0
    }

    private func matchesWeekday(_ tm: BrokenDownTime, clock: inout WallClock) -> Bool {
        if weekdays < 0 || weekdays >= Self.allWeekdays { return true }
        var t = tm
        _ = clock.makeTime(&t)
        let k = t.weekday == 0 ? 6 : t.weekday - 1
        return weekdays & (1 << k) != 0
    }
}
