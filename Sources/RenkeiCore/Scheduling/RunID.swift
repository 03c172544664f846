/// A run's row in the store. Its own type, so that a run id is never taken for a time, a count or
/// another table's id; it prints as the bare number ("run 42").
public struct RunID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The store's row id.
    public let rawValue: Int64

    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: Int64) {
        self.rawValue = rawValue
    }

    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
