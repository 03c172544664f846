/// An operator's hold on a job (`renkeictl hold`): its automatic runs — slots, catch-ups,
/// retries, runs started by its upstreams — are recorded `skipped` until it is released or
/// `until` passes. An operator's own run or rerun still runs.
public struct Hold: Sendable, Equatable {
    public var by: String
    public var reason: String
    public var since: Instant
    public var until: Instant?

    public init(by: String, reason: String, since: Instant, until: Instant?) {
        self.by = by
        self.reason = reason
        self.since = since
        self.until = until
    }

    /// "held by sato: ticket 4411" — the reason of each skipped slot.
    public var skipReason: String { "held by \(by): \(reason)" }
}
