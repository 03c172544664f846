import Foundation

/// A point in time, to the microsecond: when a slot falls, when a run is due, when a deadline
/// passes. Seconds (the store's rows, `LogicalTime`) and microseconds (the calendar) meet only in
/// its named constructors and accessors, so that a second and a microsecond can no longer be mixed up.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01 UTC.
    public let microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    public init(secondsSinceEpoch: Int64) {
        self.init(microsecondsSinceEpoch: secondsSinceEpoch * 1_000_000)
    }

    /// The wall clock's reading, to the microsecond (the shell's `now`; the core is told the time).
    public init(_ date: Date) {
        self.init(microsecondsSinceEpoch: Int64(date.timeIntervalSince1970 * 1_000_000))
    }

    /// The whole second at or before it.
    public var secondsSinceEpoch: Int64 { CivilTime.floorDiv(microsecondsSinceEpoch, 1_000_000) }

    /// Before and after every instant a calendar can name.
    public static let distantPast = Instant(microsecondsSinceEpoch: .min)
    public static let distantFuture = Instant(microsecondsSinceEpoch: .max)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch }

    /// `duration` later, to the microsecond (a finer part is dropped).
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(microsecondsSinceEpoch: lhs.microsecondsSinceEpoch + rhs.wholeMicroseconds)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        Instant(microsecondsSinceEpoch: lhs.microsecondsSinceEpoch - rhs.wholeMicroseconds)
    }

    /// How long after `rhs` this is (negative when it is before).
    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .microseconds(lhs.microsecondsSinceEpoch - rhs.microsecondsSinceEpoch)
    }

    /// `2026-12-01T06:30:00Z`, with `.000250` when it falls inside a second: for test failures and dumps.
    public var description: String {
        let stamp = LogicalTime.iso8601(secondsSinceEpoch, in: .utc, utcAsZ: true)
        let fraction = microsecondsSinceEpoch - secondsSinceEpoch * 1_000_000
        guard fraction != 0 else { return stamp }
        return String(stamp.dropLast()) + "." + pad(Int(fraction), 6) + "Z"
    }
}

extension Duration {
    /// The whole microseconds in it, truncated toward zero.
    var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
