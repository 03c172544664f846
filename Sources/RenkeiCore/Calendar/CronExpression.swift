/// A 5-field cron expression (`m h dom mon dow`, Vixie cron's syntax) or an `@daily`-style
/// shorthand, in wall-clock time of the job's zone.
///
/// Vixie cron's rules are kept: when both day-of-month and day-of-week are restricted, a day
/// matching either runs (`0 6 1 * Mon` is "the 1st, and every Monday"); each matching wall-clock
/// time runs once — at its first occurrence when the clock falls back, and at the moment of the
/// jump when the clock springs forward over it (as Debian's cron does; a systemd expression would
/// skip that day instead).
public struct CronExpression: Sendable, Equatable {
    /// The same times as systemd expressions, for display (two when day-of-month and day-of-week
    /// are both restricted).
    public let calendars: [CalendarSpec]
    /// Matching values of each field; weekdays 0 = Sunday … 6.
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let dayOfMonthRestricted: Bool
    let weekdayRestricted: Bool

    public static func isCron(_ text: String) -> Bool {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if fields.count == 5 { return true }
        guard fields.count == 1, let first = text.first, first == "@" else { return false }
        // `@1700000000` is systemd's timestamp syntax, not cron.
        return !(text.dropFirst().first?.isNumber ?? false)
    }

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String: Int]
    }

    private static let monthNames = ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
    private static let weekdayNames = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]
    private static let fields = [
        Field(name: "minute", range: 0...59, names: [:]),
        Field(name: "hour", range: 0...23, names: [:]),
        Field(name: "day of month", range: 1...31, names: [:]),
        Field(name: "month", range: 1...12, names: monthNames),
        Field(name: "day of week", range: 0...7, names: weekdayNames),
    ]

    public static func parse(_ text: String) throws(CalendarError) -> CronExpression {
        let trimmed = text.trimmingCharacters(in: " \t")
        if trimmed.hasPrefix("@") {
            switch trimmed.lowercased() {
            case "@yearly", "@annually": return try parse("0 0 1 1 *")
            case "@monthly": return try parse("0 0 1 * *")
            case "@weekly": return try parse("0 0 * * 0")  // cron's week starts on Sunday
            case "@daily", "@midnight": return try parse("0 0 * * *")
            case "@hourly": return try parse("0 * * * *")
            case "@reboot":
                throw CalendarError(expression: text, column: 1, reason: "@reboot is not a schedule: Renkei runs links at times, not at boot")
            default:
                throw CalendarError(expression: text, column: 1, reason: "unknown shorthand: use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
            }
        }

        var values: [Set<Int>] = []
        var restricted: [Bool] = []
        var column = 1
        let scalars = Array(text.unicodeScalars)
        var position = 0
        for field in fields {
            while position < scalars.count, scalars[position] == " " || scalars[position] == "\t" { position += 1 }
            let start = position
            while position < scalars.count, scalars[position] != " " && scalars[position] != "\t" { position += 1 }
            column = start + 1
            let token = String(String.UnicodeScalarView(scalars[start..<position]))
            let (set, isRestricted) = try parseField(token, field, expression: text, column: column)
            values.append(set)
            restricted.append(isRestricted)
        }

        var weekdays = values[4]
        if weekdays.contains(7) { weekdays.remove(7); weekdays.insert(0) }
        var base = CalendarSpec()
        base.minute = values[0].count == 60 ? [] : compress(values[0])
        base.hour = values[1].count == 24 ? [] : compress(values[1])
        base.month = restricted[3] ? compress(values[3]) : []
        base.microsecond = [.init(start: 0)]
        var byDay = base
        byDay.day = restricted[2] ? compress(values[2]) : []
        var byWeekday = base
        byWeekday.weekdays = weekdays.reduce(0) { $0 | 1 << (($1 + 6) % 7) }

        var calendars: [CalendarSpec]
        switch (restricted[2], restricted[4]) {
        case (true, true): calendars = [byDay, byWeekday]
        case (false, true): calendars = [byWeekday]
        default: calendars = [byDay]
        }
        for index in calendars.indices {
            calendars[index].normalize()
            if calendars[index].invalidField() != nil {
                throw CalendarError(expression: text, column: 1, reason: "this cron expression never elapses")
            }
        }
        return CronExpression(calendars: calendars, minutes: values[0], hours: values[1], daysOfMonth: values[2], months: values[3],
                              weekdays: weekdays, dayOfMonthRestricted: restricted[2], weekdayRestricted: restricted[4])
    }

    /// The values of one field, and whether it restricts anything (`*` and `*/1` do not).
    private static func parseField(_ token: String, _ field: Field, expression: String, column: Int) throws(CalendarError) -> (Set<Int>, Bool) {
        func fail(_ reason: String) -> CalendarError {
            CalendarError(expression: expression, column: column, reason: "\(field.name) field '\(token)': \(reason)")
        }
        func value(_ text: Substring) throws(CalendarError) -> Int {
            if let number = Int(text), text.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard field.range.contains(number) else { throw fail("\(number) is outside \(field.range.lowerBound)–\(field.range.upperBound)") }
                return number
            }
            if let named = field.names[text.lowercased()] { return named }
            throw fail("'\(text)' is not a number" + (field.names.isEmpty ? "" : " or a name such as \(field.names.sorted { $0.value < $1.value }.first!.key.capitalized)"))
        }
        if token.isEmpty { throw fail("empty") }
        var set: Set<Int> = []
        var restricted = true
        for element in token.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = element.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            var step = 1
            if parts.count == 2 {
                guard let parsed = Int(parts[1]), parsed > 0 else { throw fail("the step after '/' must be a whole number above 0") }
                step = parsed
            }
            let rangeText = parts[0]
            var low: Int, high: Int
            if rangeText == "*" {
                low = field.range.lowerBound
                high = field.name == "day of week" ? 6 : field.range.upperBound
                if step == 1 && token == "*" || token == "*/1" { restricted = false }
            } else if let dash = rangeText.firstIndex(of: "-") {
                low = try value(rangeText[..<dash])
                high = try value(rangeText[rangeText.index(after: dash)...])
                guard low <= high else { throw fail("the range \(rangeText) goes backwards") }
            } else {
                low = try value(rangeText)
                // `5/15` means from 5 to the end, every 15 (as Vixie cron reads it).
                high = parts.count == 2 ? field.range.upperBound : low
            }
            for number in stride(from: low, through: high, by: step) { set.insert(number) }
        }
        return (set, restricted)
    }

    /// Sorted values as the fewest components: runs `a..b`, progressions `a..b/n`, single values.
    static func compress(_ values: Set<Int>) -> [CalendarSpec.Component] {
        let sorted = values.sorted()
        var components: [CalendarSpec.Component] = []
        var index = 0
        while index < sorted.count {
            let start = sorted[index]
            if index + 2 < sorted.count {
                let step = sorted[index + 1] - start
                var end = index + 1
                while end + 1 < sorted.count && sorted[end + 1] - sorted[end] == step { end += 1 }
                if end - index >= 2 {
                    components.append(.init(start: start, stop: sorted[end], repeatEvery: step))
                    index = end + 1
                    continue
                }
            }
            components.append(.init(start: start))
            index += 1
        }
        return components
    }

    /// The systemd expressions this cron expression stands for, `;`-separated when there are two.
    public var normalizedForm: String { calendars.map(\.normalizedForm).joined(separator: "; ") }

    /// The first run strictly after `after` (microseconds since the epoch) in `zone`, or nil.
    public func nextElapse(after: Int64, in zone: ZoneRules) -> Int64? {
        let clock = WallClock(zone: zone)
        let afterSecond = CivilTime.floorDiv(after, 1_000_000)
        // Walk wall-clock minutes forward from the local time of `after`; days that cannot match
        // are skipped whole, so a search for 29 February takes a few thousand steps, not millions.
        let start = clock.localTime(afterSecond)
        var days = CivilTime.days(year: start.year, month: start.month + 1, day: start.day)
        var fromMinute = start.hour * 60 + start.minute + 1
        let lastDay = CivilTime.days(year: CalendarSpec.maximumYear, month: 12, day: 31)
        let sortedMinutes = minutes.sorted(), sortedHours = hours.sorted()
        while days <= lastDay {
            if matchesDay(days) {
                for hour in sortedHours where (hour + 1) * 60 > fromMinute {
                    for minute in sortedMinutes where hour * 60 + minute >= fromMinute {
                        let wall = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60)
                        if let instant = Self.firstInstant(ofWallTime: wall, in: zone), instant > afterSecond {
                            return instant * 1_000_000
                        }
                    }
                }
            }
            days += 1
            fromMinute = 0
        }
        return nil
    }

    private func matchesDay(_ days: Int) -> Bool {
        let date = CivilTime.date(days: days)
        guard months.contains(date.month) else { return false }
        let byDay = daysOfMonth.contains(date.day)
        let byWeekday = weekdays.contains(CivilTime.weekday(days: days))
        switch (dayOfMonthRestricted, weekdayRestricted) {
        case (true, true): return byDay || byWeekday
        case (true, false): return byDay
        case (false, true): return byWeekday
        case (false, false): return true
        }
    }

    /// The first instant whose local time in `zone` is `wall` (local seconds since the epoch); for
    /// a wall time skipped by a forward jump, the instant of the jump.
    static func firstInstant(ofWallTime wall: Int64, in zone: ZoneRules) -> Int64? {
        let offsets = Set([zone.offset(at: wall - 86_400), zone.offset(at: wall), zone.offset(at: wall + 86_400)])
        let occurrences = offsets.map { wall - $0 }.filter { $0 + zone.offset(at: $0) == wall }
        if let first = occurrences.min() { return first }
        // In a gap: find the transition between a day before and a day after.
        var low = wall - 86_400 - 14 * 3600, high = wall + 86_400
        let before = zone.offset(at: low)
        guard zone.offset(at: high) != before else { return nil }
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if zone.offset(at: middle) == before { low = middle } else { high = middle }
        }
        return high
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        Substring(self).trimmingCharacters(in: set)
    }
}
