/// The days a job's city hall is closed: named calendars (`jp-municipal`) and files of extra
/// dates, combined. A slot on a closed day is skipped or moved, as the job's `on_closed_day` says.
public struct ClosedDays: Sendable, Equatable {
    /// Saturdays, Sundays, national holidays and 29 Dec – 3 Jan.
    public var jpMunicipal: Bool
    /// Extra closed dates (maintenance days), from closed-day files.
    public var extraDates: Set<JapaneseHolidays.Day>

    public init(jpMunicipal: Bool = false, extraDates: Set<JapaneseHolidays.Day> = []) {
        self.jpMunicipal = jpMunicipal
        self.extraDates = extraDates
    }

    public var isEmpty: Bool { !jpMunicipal && extraDates.isEmpty }

    public func isClosed(_ day: JapaneseHolidays.Day) -> Bool {
        if extraDates.contains(day) { return true }
        guard jpMunicipal else { return false }
        if day.weekday == 0 || day.weekday == 6 { return true }
        if (day.month == 12 && day.day >= 29) || (day.month == 1 && day.day <= 3) { return true }
        return JapaneseHolidays.holidays(in: day.year).contains(day)
    }

    /// A problem in a closed-day file, with its line and column.
    public struct FileProblem: Error, Equatable, Sendable {
        public let line: Int
        public let column: Int
        public let message: String

        public init(line: Int, column: Int, message: String) {
            self.line = line
            self.column = column
            self.message = message
        }
    }

    /// Reads a closed-day file: one `YYYY-MM-DD` per line; `#` starts a comment; blank lines are fine.
    public static func parseDates(_ text: String) -> Result<Set<JapaneseHolidays.Day>, FileProblem> {
        var dates: Set<JapaneseHolidays.Day> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let withoutComment = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = withoutComment.trimmingCharacters(in: " \t\r")
            if trimmed.isEmpty { continue }
            let column = (rawLine.firstIndex { $0 != " " && $0 != "\t" }).map { rawLine.distance(from: rawLine.startIndex, to: $0) + 1 } ?? 1
            guard let day = parseDay(trimmed) else {
                return .failure(FileProblem(line: index + 1, column: column, message: "'\(trimmed)' is not a date: write one YYYY-MM-DD per line (# starts a comment)"))
            }
            dates.insert(day)
        }
        return .success(dates)
    }

    static func parseDay(_ text: String) -> JapaneseHolidays.Day? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1, day <= CivilTime.daysInMonth(year: year, month: month)
        else { return nil }
        return JapaneseHolidays.Day(year: year, month: month, day: day)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
