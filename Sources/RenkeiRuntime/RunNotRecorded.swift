import RenkeiCore

/// A run whose end is not on record: a store write failed during the run, and the one more try to
/// record its end failed too. No step was started after the failure.
///
/// Its row, if it has one, still says `queued` or `running` (owned by this process, so a later
/// start marks it `interrupted` if this process stops first). The caller keeps this value and
/// writes `outcome` with `RunStore.finish(runID:outcome:at:)` once the store is writable again.
public struct RunNotRecorded: Error, Sendable, CustomStringConvertible {
    /// The run's row; nil when even its `queued` row could not be written.
    public let runID: Int64?
    /// What the run's row must finally say: the run's real outcome when every step that was to run
    /// ended and only the end could not be written; otherwise `failed`, class `storage`, with a
    /// message naming the step it stopped at and what is known of it.
    public let outcome: RunOutcome
    /// Why the end could not be written: the store's error at the last try.
    public let failure: any Error
    /// The steps that ended, in order, whether or not their end is on record.
    public let stepsEnded: [(name: String, termination: StepTermination)]

    public init(runID: Int64?, outcome: RunOutcome, failure: any Error, stepsEnded: [(name: String, termination: StepTermination)] = []) {
        self.runID = runID
        self.outcome = outcome
        self.failure = failure
        self.stepsEnded = stepsEnded
    }

    /// For the operator: which run, what its row must say, and why it does not say it yet.
    public var description: String {
        let why = String(describing: failure)
        // A storage outcome's message already names the failure; a run's own outcome does not.
        var said = [outcome.message].compactMap { $0 }
        if !said.contains(where: { $0.contains(why) }) { said.append("its end could not be written: \(why)") }
        guard let runID else { return said.joined(separator: "; ") }
        return "run \(runID) is not on record as ended; its row must say \(outcome.state.rawValue): \(said.joined(separator: "; ")). "
            + "Until that is written the row says the run is unfinished (renkeictl show \(runID))"
    }
}
