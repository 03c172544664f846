/// Where a run is in its life. Every transition goes through `applying(_:)`, so an impossible
/// history (a succeeded run that starts again, a missed slot that fails) cannot be recorded.
///
///     queued → running → succeeded | failed | timed_out | cancelled | interrupted
///     queued → cancelled | interrupted
///     waiting → running | cancelled | failed (its upstreams did not succeed in time)
///     (a slot that was never run) → missed | skipped
public enum RunState: String, Sendable, Codable, CaseIterable {
    case queued
    /// A slot waiting for its upstreams (`after:`) to succeed for its date; survives a restart.
    case waiting
    case running
    case succeeded
    case failed
    case timedOut = "timed_out"
    case cancelled
    case interrupted
    /// The daemon was down at the slot and the catch-up policy did not run it.
    case missed
    /// Not run on purpose: the previous run was still running (`overlap: skip`) or a closed day.
    case skipped

    /// What can happen to a run.
    public enum Event: Sendable, Equatable {
        case start
        case finish(RunState)
        case cancel
        /// The process that owned the run is gone (crash, `kill -9`, power cut).
        case interrupt
    }

    public struct InvalidTransition: Error, CustomStringConvertible {
        public let from: RunState
        public let event: Event
        public var description: String { "a \(from.rawValue) run cannot take the event \(event)" }
    }

    /// The state after `event`, or `InvalidTransition` when the event makes no sense now.
    public func applying(_ event: Event) throws(InvalidTransition) -> RunState {
        switch (self, event) {
        case (.queued, .start), (.waiting, .start):
            return .running
        case (.waiting, .finish(.failed)):
            return .failed
        case (.waiting, .cancel):
            return .cancelled
        case (.running, .finish(let end)) where end.isRunEnd:
            return end
        case (.queued, .cancel), (.running, .cancel):
            return .cancelled
        case (.queued, .interrupt), (.running, .interrupt):
            return .interrupted
        default:
            throw InvalidTransition(from: self, event: event)
        }
    }

    /// The run will not change again.
    public var isFinal: Bool {
        switch self {
        case .queued, .waiting, .running: false
        case .succeeded, .failed, .timedOut, .cancelled, .interrupted, .missed, .skipped: true
        }
    }

    /// An end that needs somebody's attention (a retry or an operator's rerun).
    public var isFailure: Bool {
        switch self {
        case .failed, .timedOut, .interrupted: true
        case .queued, .waiting, .running, .succeeded, .cancelled, .missed, .skipped: false
        }
    }

    /// A state a running run can end in.
    var isRunEnd: Bool {
        switch self {
        case .succeeded, .failed, .timedOut, .cancelled, .interrupted: true
        case .queued, .waiting, .running, .missed, .skipped: false
        }
    }
}
