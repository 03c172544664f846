/// Whether this node may act as the leader now, judged on its own monotonic clock from what the
/// database last said. The database decides who holds the lease; this only makes sure a node
/// stops acting *before* another can have taken over: at the start of its last good renewal plus
/// the trust window (`ClusterTimings.trustWindow`, lease TTL minus a margin), or at once when a
/// renewal is refused or fails.
public enum Leadership<Instant: InstantProtocol>: Sendable, Equatable where Instant.Duration == Swift.Duration {
    /// Not the leader: do not record slots, do not advance the ledger.
    case following
    /// The leader of term `epoch`, trusted until `trustedUntil` without another renewal.
    case leading(epoch: Int64, trustedUntil: Instant)

    /// After a renewal that began at `attemptStart` returned the lease with `epoch`.
    public func renewed(epoch: Int64, attemptStart: Instant, timings: ClusterTimings) -> Leadership {
        .leading(epoch: epoch, trustedUntil: attemptStart.advanced(by: timings.trustWindow.duration))
    }

    /// After a renewal that returned no row (another node holds the lease) or failed.
    public func lost() -> Leadership { .following }

    /// The epoch of the term this node last held, even past its trust window (after a pause):
    /// so that losing it is said in the log, not only acted on.
    public var term: Int64? {
        if case .leading(let epoch, _) = self { return epoch }
        return nil
    }

    /// The epoch to fence writes with, when this node may still act at `now`.
    public func epoch(at now: Instant) -> Int64? {
        switch self {
        case .following: return nil
        case .leading(let epoch, let trustedUntil): return now < trustedUntil ? epoch : nil
        }
    }
}
