/// Why a run exists.
public enum Trigger: String, Sendable, Codable, CaseIterable {
    /// The job's schedule reached a slot.
    case schedule
    /// A slot missed while the daemon was down, run by the catch-up policy.
    case catchUp = "catch-up"
    /// An operator's `renkeictl run`.
    case manual
    /// An operator's `renkeictl rerun` of an earlier run, same logical time.
    case rerun
    /// An automatic retry after a failed attempt, same logical time.
    case retry
    /// A job without a schedule, started because its upstreams (`after:`) all succeeded for a
    /// date; it gets their logical time.
    case after
    /// A file arrived in a job's `trigger:` directory; the run gets it as `RENKEI_TRIGGER_FILE`.
    case file
}
