import Foundation
import Synchronization
import RenkeiCore

/// Someone's ask for one run of one job.
public struct RunRequest: Sendable {
    public var job: LoadedJob
    public var logicalTime: LogicalTime
    public var trigger: Trigger
    public var attempt: Int
    /// For manual runs and reruns.
    public var requestedBy: Requester?
    public var reason: String?
    public var rerunOf: Int64?
    public var retryOf: Int64?
    /// Which steps run; the others are recorded `reused` (before the first) or `not_run`.
    public var steps: StepSelection = .all
    /// The step an operator did by hand (`rerun --from-next`): recorded `skipped_by_operator`.
    public var skippedStep: Int?
    /// Where the steps work: a new directory, the rerun run's own, or a copy of it.
    public var workDirectory: WorkDirectoryMode = .fresh
    /// Set by whoever cancels the run, so the record says why.
    public var cancellation = CancellationReason()
    /// A rerun asked for with `--force`: with a reason, a `deliver` step may replace what was
    /// delivered for this date with different content.
    public var force = false
    /// The file whose arrival started the run (`trigger:`); its steps get it as `RENKEI_TRIGGER_FILE`.
    public var triggerFile: String?

    /// Whether a `deliver` step of this run may replace different content delivered for its date:
    /// only a rerun asked for with `--force` and a reason.
    public var mayReplaceDeliveries: Bool { trigger == .rerun && force && !(reason ?? "").isEmpty }

    public init(job: LoadedJob, logicalTime: LogicalTime, trigger: Trigger, attempt: Int = 1, requestedBy: Requester? = nil,
                reason: String? = nil, rerunOf: Int64? = nil, retryOf: Int64? = nil) {
        self.job = job
        self.logicalTime = logicalTime
        self.trigger = trigger
        self.attempt = attempt
        self.requestedBy = requestedBy
        self.reason = reason
        self.rerunOf = rerunOf
        self.retryOf = retryOf
    }
}

/// The steps a run executes, by position.
public enum StepSelection: Sendable, Equatable {
    case all
    /// From this step to the end (a rerun from the failed step).
    case from(Int)
    /// This step alone (`rerun --only`).
    case only(Int)

    public func includes(_ position: Int) -> Bool {
        switch self {
        case .all: true
        case .from(let first): position >= first
        case .only(let step): position == step
        }
    }
}

public enum WorkDirectoryMode: Sendable, Equatable {
    /// `STATE/work/JOB/RUN_ID`, new and empty.
    case fresh
    /// The directory of an earlier run, as it was left (a rerun from the failed step).
    case reuse(String)
    /// A new directory holding a copy of an earlier run's (a rerun from the top).
    case copy(from: String)
}

/// Why a run's task was cancelled: an operator (`renkeictl cancel`) or the daemon stopping.
public final class CancellationReason: Sendable {
    private let cancelledBy = Mutex<String?>(nil)

    public init() {}

    /// Marks the run cancelled by `user`; then cancel its task.
    public func operatorCancels(_ user: String) {
        cancelledBy.withLock { $0 = user }
    }

    public var operatorName: String? { cancelledBy.withLock { $0 } }
}

/// A person (or the account) that asked for a run.
public struct Requester: Sendable, Equatable {
    public var uid: UInt32
    public var userName: String

    public init(uid: UInt32, userName: String) {
        self.uid = uid
        self.userName = userName
    }
}
