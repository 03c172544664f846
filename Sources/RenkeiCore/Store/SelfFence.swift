/// Whether this node may go on running its steps and writing, judged on its own monotonic clock
/// from its heartbeats. A node that cannot stamp its heartbeat for `--self-fence-after` stops its
/// own steps (SIGTERM, then SIGKILL after the kill grace) and writes nothing more, before the
/// leader can declare it dead and retry its runs elsewhere.
///
/// The instant that counts is the START of the last heartbeat statement that succeeded, as for
/// `Leadership`'s renewals: the database stamped `heartbeat_at` after that start, so the leader's
/// `heartbeat_at + --dead-after` can never come before this node's own limit. Counting from the
/// answer instead would let a slow answer stretch the node's limit past the leader's.
public enum SelfFence<Instant: InstantProtocol>: Sendable, Equatable where Instant.Duration == Swift.Duration {
    /// The last heartbeat succeeded; it started at `lastGood`.
    case healthy(lastGood: Instant)
    /// The last heartbeat failed (connection cut, no answer); steps go on until `lastGood` +
    /// `--self-fence-after` unless a heartbeat succeeds first.
    case late(lastGood: Instant)
    /// Past the limit, due at `since`: the step processes were sent SIGTERM; SIGKILL is due at
    /// `since` + kill grace. Nothing is written. Only a heartbeat that STARTED at or after
    /// `since` and succeeded ends it.
    case terminating(since: Instant)
    /// SIGKILL was sent to what was left; nothing is written.
    case killed(since: Instant)
    /// The database said this incarnation is dead (the leader reaped it): its steps are killed
    /// at once, nothing more is written, and renkeid registers again with a fresh incarnation.
    case declaredDead

    /// What the node must do to its step processes, now.
    public enum Order: Sendable, Equatable {
        /// SIGTERM to every step process of this node.
        case terminateSteps
        /// SIGKILL to every step process still alive.
        case killSteps
        /// Register again with a new incarnation (after the steps are killed).
        case registerAgain
    }

    /// A node that has just registered: its row's `heartbeat_at` was stamped by the registration,
    /// which started at `registrationStart`.
    public static func registered(at registrationStart: Instant) -> SelfFence { .healthy(lastGood: registrationStart) }

    /// After a heartbeat that began at `attemptStart` updated this node's row.
    public func heartbeatSucceeded(attemptStart: Instant) -> SelfFence {
        switch self {
        case .healthy(let lastGood), .late(let lastGood):
            // An answer to an older heartbeat than the last good one never moves the instant back.
            return .healthy(lastGood: max(lastGood, attemptStart))
        case .terminating(let since), .killed(let since):
            // A heartbeat sent before the fence began says nothing about the time since: the
            // steps are already being stopped, and the fence stands.
            return attemptStart >= since ? .healthy(lastGood: attemptStart) : self
        case .declaredDead:
            return self
        }
    }

    /// After a heartbeat that failed: the statement was not answered, or the connection is gone.
    public func heartbeatFailed() -> SelfFence {
        if case .healthy(let lastGood) = self { return .late(lastGood: lastGood) }
        return self
    }

    /// After a heartbeat that updated no row: the leader declared this incarnation dead. Its
    /// runs may be retried elsewhere soon: the steps are killed at once, without a SIGTERM grace.
    public func heartbeatFoundDeclaredDead() -> (SelfFence, [Order]) {
        if case .declaredDead = self { return (self, []) }
        return (.declaredDead, [.killSteps, .registerAgain])
    }

    /// The state at `now` and the orders to carry out for it. Call it on every tick and after
    /// every heartbeat; an order is given once, on the transition that calls for it.
    public func advanced(to now: Instant, timings: ClusterTimings) -> (SelfFence, [Order]) {
        switch self {
        case .healthy(let lastGood), .late(let lastGood):
            let due = lastGood.advanced(by: timings.selfFenceAfter.duration)
            guard now >= due else { return (self, []) }
            // Counted from when it was due, not from this (perhaps late) tick: the SIGKILL must
            // come by lastGood + self-fence + kill grace, which the leader's retry grace assumes.
            let fenced = SelfFence.terminating(since: due)
            let (next, more) = fenced.advanced(to: now, timings: timings)
            return (next, [.terminateSteps] + more)
        case .terminating(let since):
            guard since.duration(to: now) >= timings.killGrace.duration else { return (self, []) }
            return (.killed(since: since), [.killSteps])
        case .killed, .declaredDead:
            return (self, [])
        }
    }

    /// Whether this node may write to the store and keep its steps running at `now`: only while
    /// the last good heartbeat's start is less than `--self-fence-after` ago.
    public func mayWrite(at now: Instant, timings: ClusterTimings) -> Bool {
        switch self {
        case .healthy(let lastGood), .late(let lastGood):
            return lastGood.duration(to: now) < timings.selfFenceAfter.duration
        case .terminating, .killed, .declaredDead:
            return false
        }
    }

    /// When the node must fence itself if no heartbeat succeeds before: for the caller's timer.
    public func fenceDue(timings: ClusterTimings) -> Instant? {
        switch self {
        case .healthy(let lastGood), .late(let lastGood): return lastGood.advanced(by: timings.selfFenceAfter.duration)
        case .terminating(let since): return since.advanced(by: timings.killGrace.duration)
        case .killed, .declaredDead: return nil
        }
    }
}
