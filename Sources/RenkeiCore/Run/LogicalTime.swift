/// The slot a run serves: an instant, and the zone in which its date is read. A rerun keeps it,
/// so it processes exactly the same day's data as the run it repeats.
public struct LogicalTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01 UTC.
    public let epochSeconds: Int64
    /// IANA zone for `iso8601` and `date`, read from the system's tz database.
    public let zoneIdentifier: String

    public init(epochSeconds: Int64, zoneIdentifier: String) {
        self.epochSeconds = epochSeconds
        self.zoneIdentifier = zoneIdentifier
    }

    /// The whole second at or before `microseconds` since the epoch (slots are kept in microseconds).
    public init(microseconds: Int64, zoneIdentifier: String) {
        self.init(epochSeconds: CivilTime.floorDiv(microseconds, 1_000_000), zoneIdentifier: zoneIdentifier)
    }

    /// The whole second at or before `instant`: a slot as a run's row keeps it.
    public init(_ instant: Instant, zoneIdentifier: String) {
        self.init(epochSeconds: instant.secondsSinceEpoch, zoneIdentifier: zoneIdentifier)
    }

    /// The slot as the scheduler keeps it.
    public var instant: Instant { Instant(secondsSinceEpoch: epochSeconds) }

    public static func < (lhs: LogicalTime, rhs: LogicalTime) -> Bool { lhs.epochSeconds < rhs.epochSeconds }

    public var description: String { iso8601 }

    private var zone: ZoneRules { ZoneRules.named(zoneIdentifier) ?? .utc }

    /// `2026-11-26T06:30:00+09:00`.
    public var iso8601: String { Self.iso8601(epochSeconds, in: zone) }

    /// `2026-11-26`, the day in the job's zone.
    public var date: String {
        let local = WallClock(zone: zone).localTime(epochSeconds)
        return "\(pad(local.year, 4))-\(pad(local.month + 1))-\(pad(local.day))"
    }

    /// An instant as ISO 8601 with the zone's offset at that instant (`Z` for UTC).
    public static func iso8601(_ seconds: Int64, in zone: ZoneRules, utcAsZ: Bool = false) -> String {
        let offset = zone.offset(at: seconds)
        let local = BrokenDownTime(localSeconds: seconds + offset)
        let stamp = "\(pad(local.year, 4))-\(pad(local.month + 1))-\(pad(local.day))T\(pad(local.hour)):\(pad(local.minute)):\(pad(local.second))"
        if utcAsZ && offset == 0 { return stamp + "Z" }
        let sign = offset < 0 ? "-" : "+"
        let magnitude = Int(abs(offset))
        return stamp + "\(sign)\(pad(magnitude / 3600)):\(pad(magnitude % 3600 / 60))"
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
    /// time in `zoneIdentifier`), `2026-11-26 06:30:00 Europe/Berlin` (systemd's form), or
    /// `2026-11-26` (midnight there).
    public static func parse(_ text: String, zoneIdentifier: String) throws(ParseError) -> LogicalTime {
        guard var zone = ZoneRules.named(zoneIdentifier) else { throw .unknownZone(zoneIdentifier) }
        var zoneName = zoneIdentifier
        var body = Substring(text)
        // systemd's "YYYY-MM-DD HH:MM:SS ZONE".
        if let space = body.lastIndex(of: " "), body[body.index(after: space)...].contains(where: \.isLetter),
           let named = ZoneRules.named(String(body[body.index(after: space)...])) {
            zone = named
            zoneName = String(body[body.index(after: space)...])
            body = body[..<space]
        }
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?)?$/#
        guard let match = String(body).wholeMatch(of: pattern),
              let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
              (1...12).contains(month), day >= 1, day <= CivilTime.daysInMonth(year: year, month: month)
        else { throw .malformed(text) }
        let hour = match.4.flatMap { Int($0) } ?? 0
        let minute = match.5.flatMap { Int($0) } ?? 0
        let second = match.6.flatMap { Int($0) } ?? 0
        guard hour < 24, minute < 60, second < 60 else { throw .malformed(text) }
        var fields = BrokenDownTime(year: year, month: month - 1, day: day, hour: hour, minute: minute, second: second)
        if let suffix = match.7 {
            let offset = try offsetSeconds(String(suffix), text: text)
            return LogicalTime(epochSeconds: fields.secondsAsUTC - offset, zoneIdentifier: zoneName)
        }
        var clock = WallClock(zone: zone)
        let seconds = clock.makeTime(&fields)
        return LogicalTime(epochSeconds: seconds, zoneIdentifier: zoneName)
    }

    private static func offsetSeconds(_ suffix: String, text: String) throws(ParseError) -> Int64 {
        if suffix == "Z" { return 0 }
        let digits = suffix.dropFirst().filter { $0 != ":" }
        guard digits.count == 4, let hours = Int64(digits.prefix(2)), let minutes = Int64(digits.suffix(2)), hours < 24, minutes < 60
        else { throw .malformed(text) }
        return (suffix.hasPrefix("-") ? -1 : 1) * (hours * 3600 + minutes * 60)
    }
}

func pad(_ value: Int, _ width: Int = 2) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
