import Foundation

/// The slot a run serves: an instant, and the zone in which its date is read. A rerun keeps it,
/// so it processes exactly the same day's data as the run it repeats.
public struct LogicalTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01 UTC.
    public let epochSeconds: Int64
    /// IANA zone for `iso8601` and `date`.
    public let zoneIdentifier: String

    public init(epochSeconds: Int64, zoneIdentifier: String) {
        self.epochSeconds = epochSeconds
        self.zoneIdentifier = zoneIdentifier
    }

    public static func < (lhs: LogicalTime, rhs: LogicalTime) -> Bool { lhs.epochSeconds < rhs.epochSeconds }

    public var description: String { iso8601 }

    private var zone: TimeZone { TimeZone(identifier: zoneIdentifier) ?? TimeZone(secondsFromGMT: 0)! }

    private var components: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, offset: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let date = Date(timeIntervalSince1970: TimeInterval(epochSeconds))
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return (c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, zone.secondsFromGMT(for: date))
    }

    /// `2026-11-26T06:30:00+09:00`.
    public var iso8601: String {
        let c = components
        let sign = c.offset < 0 ? "-" : "+"
        let offset = abs(c.offset)
        return "\(date)T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))\(sign)\(pad(offset / 3600)):\(pad(offset % 3600 / 60))"
    }

    /// `2026-11-26`, the day in the job's zone.
    public var date: String {
        let c = components
        return "\(pad(c.year, 4))-\(pad(c.month))-\(pad(c.day))"
    }

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)
        case unknownZone(String)

        public var description: String {
            switch self {
            case .malformed(let text):
                return "'\(text)' is not a time: write 2026-11-26T06:30:00+09:00, 2026-11-26 06:30 (in the job's zone) or 2026-11-26"
            case .unknownZone(let zone):
                return "unknown time zone '\(zone)'"
            }
        }
    }

    /// Reads `2026-11-26T06:30:00+09:00`, `…Z`, `2026-11-26 06:30[:00]` or `2026-11-26T06:30` (wall
    /// time in `zoneIdentifier`), or `2026-11-26` (midnight there).
    public static func parse(_ text: String, zoneIdentifier: String) throws(ParseError) -> LogicalTime {
        guard let zone = TimeZone(identifier: zoneIdentifier) else { throw .unknownZone(zoneIdentifier) }
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?)?$/#
        guard let match = text.wholeMatch(of: pattern) else { throw .malformed(text) }
        var components = DateComponents()
        components.year = Int(match.1)
        components.month = Int(match.2)
        components.day = Int(match.3)
        components.hour = match.4.flatMap { Int($0) } ?? 0
        components.minute = match.5.flatMap { Int($0) } ?? 0
        components.second = match.6.flatMap { Int($0) } ?? 0
        guard let month = components.month, (1...12).contains(month), let day = components.day, (1...31).contains(day),
              components.hour! < 24, components.minute! < 60, components.second! < 60
        else { throw .malformed(text) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        if let suffix = match.7 {
            let offset = try offsetSeconds(String(suffix), text: text)
            calendar.timeZone = TimeZone(secondsFromGMT: offset) ?? zone
        }
        guard let date = calendar.date(from: components),
              calendar.component(.day, from: date) == day
        else { throw .malformed(text) }
        return LogicalTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)), zoneIdentifier: zoneIdentifier)
    }

    private static func offsetSeconds(_ suffix: String, text: String) throws(ParseError) -> Int {
        if suffix == "Z" { return 0 }
        let digits = suffix.dropFirst().filter { $0 != ":" }
        guard digits.count == 4, let hours = Int(digits.prefix(2)), let minutes = Int(digits.suffix(2)), hours < 24, minutes < 60
        else { throw .malformed(text) }
        return (suffix.hasPrefix("-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }
}

private func pad(_ value: Int, _ width: Int = 2) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
