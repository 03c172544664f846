/// A C `struct tm`: wall-clock fields that may be out of range until normalized. The calendar
/// search works on these exactly as systemd's does, so that both land on the same instants,
/// daylight-saving changes included.
struct BrokenDownTime: Equatable, Sendable {
    /// Full year (not years since 1900).
    var year: Int
    /// 0…11, as `tm_mon`.
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// 0 = Sunday, as `tm_wday`; valid after normalization only.
    var weekday: Int = 0
    /// `tm_isdst`: 1 daylight time, 0 standard time, -1 unknown (let `mktime` decide).
    var isDST: Int = -1

    /// Seconds since the epoch if these fields were UTC, out-of-range fields carried.
    var secondsAsUTC: Int64 {
        let monthRemainder = ((month % 12) + 12) % 12
        let yearCarry = (month - monthRemainder) / 12
        let days = CivilTime.days(year: year + yearCarry, month: monthRemainder + 1, day: 1) + day - 1
        return Int64(days) * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    }

    /// The fields of `local` seconds (UTC seconds plus the offset).
    init(localSeconds local: Int64, isDST: Bool = false) {
        let days = CivilTime.floorDiv(local, 86_400)
        let secondsOfDay = Int(local - days * 86_400)
        let date = CivilTime.date(days: Int(days))
        year = date.year
        month = date.month - 1
        day = date.day
        hour = secondsOfDay / 3600
        minute = secondsOfDay % 3600 / 60
        second = secondsOfDay % 60
        weekday = CivilTime.weekday(days: Int(days))
        self.isDST = isDST ? 1 : 0
    }

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }
}

/// `localtime_r` and `mktime` for one zone, with glibc's behaviour where a wall-clock time is
/// ambiguous or does not exist: `mktime` starts from the offset its previous call found (the
/// `guessedOffset` here, as glibc keeps it in a static), so a time in an autumn fold resolves to
/// whichever occurrence the search came from, and a time in a spring gap moves forward by the gap.
struct WallClock {
    let zone: ZoneRules
    /// glibc's `localtime_offset`: UTC seconds minus local seconds of the last `mktime`.
    var guessedOffset: Int64 = 0
    let isUTC: Bool

    init(zone: ZoneRules) {
        self.zone = zone
        isUTC = zone === ZoneRules.utc
    }

    func localTime(_ t: Int64) -> BrokenDownTime {
        let type = zone.localTimeType(at: t)
        return BrokenDownTime(localSeconds: t + type.offset, isDST: type.isDST)
    }

    /// Normalizes `tm` in place and returns its UTC seconds, as `mktime` (or `timegm` for UTC).
    mutating func makeTime(_ tm: inout BrokenDownTime) -> Int64 {
        if isUTC {
            let t = tm.secondsAsUTC
            tm = BrokenDownTime(localSeconds: t)
            return t
        }
        // glibc clamps seconds to 0…59 for the search and adds the rest back at the end.
        let requestedSecond = tm.second
        let requestedDST = tm.isDST
        var clamped = tm
        clamped.second = min(max(tm.second, 0), 59)
        let requested = clamped.secondsAsUTC
        let t0 = requested + guessedOffset
        var t = t0, t1 = t0, t2 = t0
        var previousWasDST = false
        var converted = localTime(t)
        var probes = 6
        var matched = false
        while true {
            converted = localTime(t)
            let difference = requested - converted.secondsAsUTC
            if difference == 0 {
                matched = true
                break
            }
            // Oscillating across a spring-forward gap: settle as glibc does — on the reading whose
            // DST flag differs from the one asked for, or, when none was asked for, on daylight time.
            let nowDST = converted.isDST == 1
            if t == t1 && t != t2 && (requestedDST < 0 ? (!previousWasDST || nowDST) : (requestedDST != 0) != nowDST) { break }
            probes -= 1
            if probes == 0 { break }
            t1 = t2
            t2 = t
            t += difference
            previousWasDST = nowDST
        }
        if matched && requestedDST >= 0 && (requestedDST != 0) != (converted.isDST == 1) {
            // The wall time exists but with the other DST flag: borrow the offset of the nearest
            // time that has the flag asked for (glibc probes a week at a time, both ways).
            let week: Int64 = 601_200
            let bound: Int64 = 536_454_000 / 2 + week
            search: for delta in stride(from: week, to: bound, by: Int(week)) {
                for direction: Int64 in [-1, 1] {
                    let other = localTime(t + Int64(delta) * direction)
                    if (other.isDST == 1) == (requestedDST != 0) {
                        t = t + Int64(delta) * direction + (requested - other.secondsAsUTC)
                        converted = localTime(t)
                        break search
                    }
                }
            }
        }
        guessedOffset += t - t0
        if requestedSecond != clamped.second {
            t += Int64(requestedSecond - clamped.second)
            converted = localTime(t)
        }
        tm = converted
        return t
    }
}
