/// A length of time written in a job file: `90s`, `5m`, `2h`, `1d`, or a combination such as `1h30m`.
///
/// Whole seconds only: data links are scheduled by the minute and time out after minutes, and a
/// unit an operator can misread (`ms`, `us`) is one more way to get a 06:30 link wrong.
public struct JobDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The length in seconds; never negative.
    public let seconds: Int64

    public init(seconds: Int64) {
        precondition(seconds >= 0, "a JobDuration is never negative")
        self.seconds = seconds
    }

    public static let zero = JobDuration(seconds: 0)

    public static func < (lhs: JobDuration, rhs: JobDuration) -> Bool { lhs.seconds < rhs.seconds }

    /// Swift's own `Duration`, for sleeping and timeouts.
    public var duration: Duration { .seconds(seconds) }

    /// The shortest spelling in the job-file syntax: `1h30m`, `0s`.
    public var description: String {
        if seconds == 0 { return "0s" }
        var rest = seconds
        var text = ""
        for unit in Self.units {
            let count = rest / unit.seconds
            if count > 0 {
                text += "\(count)\(unit.symbol)"
                rest -= count * unit.seconds
            }
        }
        return text
    }

    private static let units: [(symbol: Character, seconds: Int64)] = [
        ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1),
    ]

    /// Why a text is not a duration, in words for the person who wrote it.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case negative(String)
        case malformed(String)
        case unitOutOfOrder(String)
        case tooLong(String)

        public var description: String {
            let example = "write a number and a unit (s, m, h, d), such as 90s, 5m, 2h, 1d or 1h30m"
            switch self {
            case .empty:
                return "empty duration: \(example)"
            case .negative(let text):
                return "'\(text)' is negative: a duration cannot be negative"
            case .malformed(let text):
                return "'\(text)' is not a duration: \(example)"
            case .unitOutOfOrder(let text):
                return "'\(text)' is not a duration: put each unit once, largest first (d, h, m, s), such as 1h30m"
            case .tooLong(let text):
                return "'\(text)' is too long a duration"
            }
        }
    }

    /// Reads the job-file syntax. Zero (`0s`) parses; whether zero makes sense is the caller's call.
    public static func parse(_ text: String) throws(ParseError) -> JobDuration {
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.isEmpty { throw .empty }
        if trimmed.hasPrefix("-") { throw .negative(text) }
        var total: Int64 = 0
        var number: Int64? = nil
        var lastUnitIndex = -1
        for character in trimmed {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (times10, overflow1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (next, overflow2) = times10.addingReportingOverflow(Int64(digit))
                if overflow1 || overflow2 { throw .tooLong(text) }
                number = next
            } else if let unitIndex = units.firstIndex(where: { $0.symbol == character }) {
                guard let count = number else { throw .malformed(text) }
                guard unitIndex > lastUnitIndex else { throw .unitOutOfOrder(text) }
                let (part, overflow1) = count.multipliedReportingOverflow(by: units[unitIndex].seconds)
                let (sum, overflow2) = total.addingReportingOverflow(part)
                if overflow1 || overflow2 || sum > maximumSeconds { throw .tooLong(text) }
                total = sum
                lastUnitIndex = unitIndex
                number = nil
            } else {
                throw .malformed(text)
            }
        }
        // A bare number ("30") has no unit: refuse rather than guess seconds or minutes.
        if number != nil { throw .malformed(text) }
        return JobDuration(seconds: total)
    }

    /// About 100 years: anything longer is a typo, and it keeps arithmetic on dates far from overflow.
    static let maximumSeconds: Int64 = 100 * 366 * 86_400
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
