/// Japanese national holidays under the Act on National Holidays (国民の祝日に関する法律) as
/// amended, from 2000 on: fixed days, Happy Monday days, the equinox days, substitute holidays
/// (振替休日), citizens' holidays (国民の休日) and the one-off days of 2019–2021.
public enum JapaneseHolidays {
    /// A calendar date; month and day 1-based.
    public struct Day: Hashable, Comparable, Sendable, CustomStringConvertible {
        public let year: Int
        public let month: Int
        public let day: Int

        public init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        init(days: Int) {
            let date = CivilTime.date(days: days)
            self.init(year: date.year, month: date.month, day: date.day)
        }

        var days: Int { CivilTime.days(year: year, month: month, day: day) }
        /// 0 = Sunday … 6 = Saturday.
        public var weekday: Int { CivilTime.weekday(days: days) }

        public static func < (a: Day, b: Day) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

        public var description: String {
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return "\(year)-\(two(month))-\(two(day))"
        }
    }

    /// The holidays of `year` (2000–2099), Sundays that are holidays included.
    public static func holidays(in year: Int) -> Set<Day> {
        var fixed = nationalHolidays(in: year)
        // 国民の休日: a weekday between two national holidays.
        let proper = fixed
        for holiday in proper {
            let between = Day(days: holiday.days + 1)
            let after = Day(days: holiday.days + 2)
            if proper.contains(after) && !proper.contains(between) && between.year == year {
                fixed.insert(between)
            }
        }
        // 振替休日: a holiday on a Sunday moves the day off to the next day that is not a holiday.
        var all = fixed
        for holiday in proper where holiday.weekday == 0 {
            var next = holiday.days + 1
            while all.contains(Day(days: next)) { next += 1 }
            all.insert(Day(days: next))
        }
        return all
    }

    /// The 国民の祝日 proper, without substitute and citizens' holidays.
    static func nationalHolidays(in year: Int) -> Set<Day> {
        func day(_ month: Int, _ day: Int) -> Day { Day(year: year, month: month, day: day) }
        func monday(_ month: Int, _ nth: Int) -> Day {
            let first = CivilTime.days(year: year, month: month, day: 1)
            let offset = (8 - CivilTime.weekday(days: first)) % 7
            return Day(days: first + offset + (nth - 1) * 7)
        }
        var days: Set<Day> = [
            day(1, 1), monday(1, 2), day(2, 11), day(3, vernalEquinox(year)), day(4, 29), day(5, 3), day(5, 4), day(5, 5),
            monday(9, 3), day(9, autumnalEquinox(year)), day(11, 3), day(11, 23),
        ]
        // 海の日, 山の日 and スポーツの日 moved for the Tokyo Olympics in 2020 and 2021.
        switch year {
        case 2020: days.formUnion([day(7, 23), day(7, 24), day(8, 10)])
        case 2021: days.formUnion([day(7, 22), day(7, 23), day(8, 8)])
        default:
            days.insert(monday(7, 3))
            days.insert(monday(10, 2))
            if year >= 2016 { days.insert(day(8, 11)) }
        }
        // 天皇誕生日: 23 December under the Heisei emperor, 23 February from 2020, none in 2019.
        if year <= 2018 { days.insert(day(12, 23)) }
        if year >= 2020 { days.insert(day(2, 23)) }
        // The enthronement in 2019: 即位の日 and 即位礼正殿の儀.
        if year == 2019 { days.formUnion([day(5, 1), day(10, 22)]) }
        return days
    }

    /// 春分の日, by the usual approximation of the equinox for 1980–2099.
    static func vernalEquinox(_ year: Int) -> Int {
        Int(20.8431 + 0.242194 * Double(year - 1980)) - (year - 1980) / 4
    }

    /// 秋分の日.
    static func autumnalEquinox(_ year: Int) -> Int {
        Int(23.2488 + 0.242194 * Double(year - 1980)) - (year - 1980) / 4
    }
}
