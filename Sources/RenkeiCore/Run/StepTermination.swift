/// How one step ended, as the executor saw it.
public enum StepTermination: Sendable, Equatable {
    /// The process exited by itself with this status.
    case exited(Int32)
    /// The process died of a signal Renkei did not send.
    case signaled(Int32)
    /// The step or the run went past its timeout; Renkei sent SIGTERM, then SIGKILL if `killed`.
    case timedOut(limit: JobDuration, killed: Bool)
    /// The process could not be started; the message names the path and the reason.
    case spawnFailed(String)
    /// The run was cancelled (by an operator or a daemon shutdown) while the step ran.
    case cancelled
    /// A built-in step ended by itself and said why it failed: `late`, `duplicate`, or `exit`
    /// with a message in the operator's words (a missing target directory, a full disk).
    case linkFailed(ErrorClass, String)

    public var succeeded: Bool { self == .exited(0) }

    /// One line for `show` and the journal.
    public var summary: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signaled(let signal): "killed by \(SignalName.describe(signal))"
        case .timedOut(let limit, let killed): "timed out after \(limit)" + (killed ? " (SIGKILL after the grace period)" : " (SIGTERM)")
        case .spawnFailed(let reason): "could not start: \(reason)"
        case .cancelled: "cancelled"
        case .linkFailed(_, let message): message
        }
    }
}

/// Signal numbers as operators know them (Linux numbering).
public enum SignalName {
    private static let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
        8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
        14: "SIGALRM", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ",
    ]

    /// `SIGKILL (9)`.
    public static func describe(_ signal: Int32) -> String {
        names[signal].map { "\($0) (\(signal))" } ?? "signal \(signal)"
    }
}
