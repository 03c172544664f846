/// A POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3` or `JST-9`: the zone's law for years
/// after the last transition written out in its TZif file.
struct PosixZoneRule: Sendable, Equatable {
    /// Seconds east of UTC in standard and in daylight time.
    let standardOffset: Int64
    let daylightOffset: Int64?
    let start: Rule?
    let end: Rule?

    /// When daylight time starts or ends, in local time of the year in question.
    enum Rule: Sendable, Equatable {
        /// `Mm.w.d`: day d (0 = Sunday) of week w (5 = last) of month m, at `time` seconds.
        case monthWeekDay(month: Int, week: Int, weekday: Int, time: Int64)
        /// `Jn`: day n of the year, 1…365, never counting 29 February.
        case julian(day: Int, time: Int64)
        /// `n`: day n of the year, 0…365, counting 29 February.
        case zeroBased(day: Int, time: Int64)
    }

    func localTimeType(at t: Int64) -> ZoneRules.LocalTimeType {
        guard let daylightOffset, let start, let end else { return .init(offset: standardOffset, isDST: false) }
        let localYear = CivilTime.date(days: Int(CivilTime.floorDiv(t + standardOffset, 86_400))).year
        // Check the year before and after too: a rule may cross the new year in UTC.
        for year in [localYear - 1, localYear, localYear + 1] {
            let startUTC = Self.instant(start, year: year) - standardOffset
            let endUTC = Self.instant(end, year: year) - daylightOffset
            if startUTC < endUTC {
                if t >= startUTC && t < endUTC { return .init(offset: daylightOffset, isDST: true) }
            } else if year == localYear {
                // Southern hemisphere: daylight time spans the new year.
                if t < endUTC || t >= startUTC { return .init(offset: daylightOffset, isDST: true) }
                return .init(offset: standardOffset, isDST: false)
            }
        }
        return .init(offset: standardOffset, isDST: false)
    }

    /// Local seconds since the epoch at which `rule` fires in `year`.
    static func instant(_ rule: Rule, year: Int) -> Int64 {
        switch rule {
        case .monthWeekDay(let month, let week, let weekday, let time):
            let first = CivilTime.days(year: year, month: month, day: 1)
            var day = 1 + (weekday - CivilTime.weekday(days: first) + 7) % 7 + (week - 1) * 7
            let length = CivilTime.daysInMonth(year: year, month: month)
            while day > length { day -= 7 }
            return Int64(CivilTime.days(year: year, month: month, day: day)) * 86_400 + time
        case .julian(let n, let time):
            var days = CivilTime.days(year: year, month: 1, day: 1) + n - 1
            if CivilTime.isLeap(year) && n >= 60 { days += 1 }
            return Int64(days) * 86_400 + time
        case .zeroBased(let n, let time):
            return Int64(CivilTime.days(year: year, month: 1, day: 1) + n) * 86_400 + time
        }
    }

    static func parse(_ text: String) -> PosixZoneRule? {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.name(), let standard = scanner.offset() else { return nil }
        // POSIX offsets are west of UTC; store east.
        let standardOffset = -standard
        if scanner.atEnd { return PosixZoneRule(standardOffset: standardOffset, daylightOffset: nil, start: nil, end: nil) }
        guard scanner.name() else { return nil }
        var daylightOffset = standardOffset + 3600
        if !scanner.atEnd && scanner.peek != UInt8(ascii: ",") {
            guard let daylight = scanner.offset() else { return nil }
            daylightOffset = -daylight
        }
        guard scanner.take(","), let start = scanner.rule(), scanner.take(","), let end = scanner.rule(), scanner.atEnd else { return nil }
        return PosixZoneRule(standardOffset: standardOffset, daylightOffset: daylightOffset, start: start, end: end)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        mutating func take(_ character: Character) -> Bool {
            guard let peek, peek == character.asciiValue else { return false }
            index += 1
            return true
        }

        /// `CET` or `<+09>`.
        mutating func name() -> Bool {
            if take("<") {
                while let peek, peek != UInt8(ascii: ">") { index += 1 }
                return take(">")
            }
            let start = index
            while let peek, (peek >= 65 && peek <= 90) || (peek >= 97 && peek <= 122) { index += 1 }
            return index - start >= 3
        }

        mutating func number() -> Int64? {
            var value: Int64 = 0
            let start = index
            while let peek, peek >= 48 && peek <= 57 {
                value = value * 10 + Int64(peek - 48)
                index += 1
            }
            return index > start ? value : nil
        }

        /// `[+-]hh[:mm[:ss]]`, in seconds.
        mutating func offset() -> Int64? {
            var sign: Int64 = 1
            if take("-") { sign = -1 } else { _ = take("+") }
            guard let hours = number() else { return nil }
            var seconds = hours * 3600
            if take(":") {
                guard let minutes = number() else { return nil }
                seconds += minutes * 60
                if take(":") {
                    guard let extra = number() else { return nil }
                    seconds += extra
                }
            }
            return sign * seconds
        }

        mutating func rule() -> Rule? {
            let rule: Rule
            if take("M") {
                guard let month = number(), take("."), let week = number(), take("."), let weekday = number() else { return nil }
                rule = .monthWeekDay(month: Int(month), week: Int(week), weekday: Int(weekday), time: 7200)
            } else if take("J") {
                guard let day = number() else { return nil }
                rule = .julian(day: Int(day), time: 7200)
            } else {
                guard let day = number() else { return nil }
                rule = .zeroBased(day: Int(day), time: 7200)
            }
            guard take("/") else { return rule }
            guard let time = offset() else { return nil }
            switch rule {
            case .monthWeekDay(let m, let w, let d, _): return .monthWeekDay(month: m, week: w, weekday: d, time: time)
            case .julian(let d, _): return .julian(day: d, time: time)
            case .zeroBased(let d, _): return .zeroBased(day: d, time: time)
            }
        }
    }
}
