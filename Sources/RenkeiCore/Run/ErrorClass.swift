/// What kind of failure a run or step ended in; the first thing an operator filters on.
public enum ErrorClass: String, Sendable, Codable, CaseIterable {
    /// A step exited with a non-zero status.
    case exit
    /// A step was killed by a signal it did not get from Renkei.
    case signal
    /// A step or the run went past its `timeout` and was killed.
    case timeout
    /// A step could not start: not found, not executable, bad working directory.
    case spawn
    /// Renkei stopped or crashed while the run was running.
    case interrupted
    /// The run did not start or finish by its `deadline`.
    case deadline
    /// A slot was not run (daemon down, outside the catch-up policy).
    case missed
    /// The run could not be recorded or its work directory prepared.
    case storage
    /// An expected file did not arrive (complete) by the step's `wait_until`.
    case late
    /// Content this job already received for another date, or different content for a date
    /// already delivered.
    case duplicate
    /// A file broke its link contract: encoding, layout, record count, total or characters.
    case data
    /// A slot's upstreams (`after:`) did not all succeed for its date within `after_wait`.
    case upstream
}
