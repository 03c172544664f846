/// A systemd calendar expression (`man systemd.time`, "CALENDAR EVENTS"), parsed, normalized
/// and ready to compute its next elapse. Parsing, the normalized form and the search follow
/// systemd's own rules, so Renkei fires when a systemd timer with the same `OnCalendar=` would.
public struct CalendarSpec: Sendable, Equatable {
    /// One element of a field's list: a value, a range `start..stop`, a repetition `start/repeat`
    /// or both `start..stop/repeat`. Seconds are kept in microseconds.
    struct Component: Sendable, Equatable, Comparable {
        var start: Int
        /// -1 when there is no upper end.
        var stop: Int = -1
        /// 0 when the value does not repeat.
        var repeatEvery: Int = 0

        static func < (a: Component, b: Component) -> Bool {
            (a.start, a.stop, a.repeatEvery) < (b.start, b.stop, b.repeatEvery)
        }
    }

    /// Monday = bit 0 … Sunday = bit 6; -1 means any day.
    var weekdays: Int = -1
    /// Each field's list; empty means `*`.
    var year: [Component] = []
    var month: [Component] = []
    var day: [Component] = []
    var hour: [Component] = []
    var minute: [Component] = []
    var microsecond: [Component] = []
    /// `~`: days count back from the end of the month.
    var endOfMonth = false
    /// The expression ended in ` UTC`.
    var utc = false
    /// The expression ended in a tz database zone name.
    public internal(set) var timezone: String?

    static let microsecondsPerSecond = 1_000_000
    static let allWeekdays = 127
    static let minimumYear = 1970
    static let maximumYear = 2199

    /// Whether any elapse falls on a fraction of a second.
    public var hasFractionalSeconds: Bool {
        microsecond.contains { $0.start % Self.microsecondsPerSecond != 0 || $0.repeatEvery % Self.microsecondsPerSecond != 0 || ($0.stop > 0 && $0.stop % Self.microsecondsPerSecond != 0) }
    }

    // MARK: - Normalization (as `calendar_spec_normalize`)

    mutating func normalize() {
        if timezone == "UTC" {
            utc = true
            timezone = nil
        }
        if weekdays <= 0 || weekdays >= Self.allWeekdays { weekdays = -1 }
        if endOfMonth && day.isEmpty { endOfMonth = false }
        year = year.map { component in
            var fixed = component
            fixed.start = Self.fullYear(fixed.start)
            fixed.stop = Self.fullYear(fixed.stop)
            return fixed
        }
        year = Self.normalized(year)
        month = Self.normalized(month)
        day = Self.normalized(day)
        hour = Self.normalized(hour)
        minute = Self.normalized(minute)
        microsecond = Self.normalized(microsecond)
    }

    /// Two-digit years: 12 → 2012, 89 → 1989.
    private static func fullYear(_ value: Int) -> Int {
        if value >= 0 && value < 70 { return value + 2000 }
        if value >= 70 && value < 100 { return value + 1900 }
        return value
    }

    private static func normalized(_ chain: [Component]) -> [Component] {
        var result = chain.map { component -> Component in
            var c = component
            if c.stop > c.start && c.repeatEvery > 0 {
                c.stop -= (c.stop - c.start) % c.repeatEvery
            }
            if (c.stop > c.start && c.repeatEvery > 0 && c.start + c.repeatEvery > c.stop) || c.start == c.stop {
                c.repeatEvery = 0
                c.stop = -1
            }
            return c
        }
        guard result.count > 1 else { return result }
        result.sort()
        var unique: [Component] = []
        for component in result where unique.last != component { unique.append(component) }
        return unique
    }

    // MARK: - Validity (as `calendar_spec_valid`)

    /// Nil when valid, else the field that is out of range.
    func invalidField() -> String? {
        if weekdays > Self.allWeekdays { return "weekday" }
        if !Self.chainValid(year, from: Self.minimumYear, to: Self.maximumYear, endOfMonth: false) { return "year (1970…2199, or a repetition that fits)" }
        if !Self.chainValid(month, from: 1, to: 12, endOfMonth: false) { return "month (1…12)" }
        if !Self.chainValid(day, from: 1, to: 31, endOfMonth: endOfMonth) { return endOfMonth ? "day counted from the end of the month (~1…~28)" : "day (1…31)" }
        if !Self.chainValid(hour, from: 0, to: 23, endOfMonth: false) { return "hour (0…23)" }
        if !Self.chainValid(minute, from: 0, to: 59, endOfMonth: false) { return "minute (0…59)" }
        if !Self.chainValid(microsecond, from: 0, to: 60 * Self.microsecondsPerSecond - 1, endOfMonth: false) { return "second (0…59)" }
        return nil
    }

    private static func chainValid(_ chain: [Component], from: Int, to upper: Int, endOfMonth: Bool) -> Bool {
        let to = endOfMonth ? upper - 3 : upper
        for c in chain {
            if c.start < from || c.start > to { return false }
            if c.repeatEvery > to - from { return false }
            if c.stop >= 0 {
                if c.stop < from || c.stop > to { return false }
                if c.start + c.repeatEvery > c.stop { return false }
            } else {
                if endOfMonth && c.start - c.repeatEvery < from { return false }
                if !endOfMonth && c.start + c.repeatEvery > to { return false }
            }
        }
        return true
    }

    // MARK: - Normalized form (as `calendar_spec_to_string`)

    /// The expression as `systemd-analyze calendar` prints it under "Normalized form".
    public var normalizedForm: String {
        var text = ""
        if weekdays > 0 && weekdays <= Self.allWeekdays {
            text += formatWeekdays() + " "
        }
        text += Self.format(year, width: 4, usec: false) + "-" + Self.format(month, width: 2, usec: false)
        text += (endOfMonth ? "~" : "-") + Self.format(day, width: 2, usec: false)
        text += " " + Self.format(hour, width: 2, usec: false) + ":" + Self.format(minute, width: 2, usec: false)
        text += ":" + Self.format(microsecond, width: 2, usec: true)
        if utc {
            text += " UTC"
        } else if let timezone {
            text += " " + timezone
        }
        return text
    }

    private func formatWeekdays() -> String {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        var text = ""
        var runStart = -1
        var needComma = false
        var x = 0
        while x < names.count {
            if weekdays & (1 << x) != 0 {
                if runStart < 0 {
                    if needComma { text += "," } else { needComma = true }
                    text += names[x]
                    runStart = x
                }
            } else if runStart >= 0 {
                if x > runStart + 1 {
                    text += (x > runStart + 2 ? ".." : ",") + names[x - 1]
                }
                runStart = -1
            }
            x += 1
        }
        if runStart >= 0 && x > runStart + 1 {
            text += (x > runStart + 2 ? ".." : ",") + names[x - 1]
        }
        return text
    }

    private static func format(_ chain: [Component], width: Int, usec: Bool) -> String {
        let d = usec ? microsecondsPerSecond : 1
        if chain.isEmpty || (usec && chain.contains { $0.start == 0 && $0.stop < 0 && $0.repeatEvery == microsecondsPerSecond }) {
            return "*"
        }
        func padded(_ value: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        func fraction(_ value: Int) -> String {
            let text = String(value % d)
            return "." + String(repeating: "0", count: 6 - text.count) + text
        }
        return chain.map { c in
            var text = padded(c.start / d)
            if c.start % d > 0 { text += fraction(c.start) }
            if c.stop > 0 { text += ".." + padded(c.stop / d) }
            if c.stop > 0 && c.stop % d > 0 { text += fraction(c.stop) }
            if c.repeatEvery > 0 && !(c.stop > 0 && c.repeatEvery == d) { text += "/" + String(c.repeatEvery / d) }
            if c.repeatEvery % d > 0 { text += fraction(c.repeatEvery) }
            return text
        }.joined(separator: ",")
    }
}
