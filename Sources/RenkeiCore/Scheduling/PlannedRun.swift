/// A run the scheduler has decided on: which job, which slot, why, and from when it may start.
public struct PlannedRun: Sendable, Equatable {
    public var job: JobName
    /// The slot it serves; retries keep their slot's.
    public var logicalTime: Instant
    public var trigger: Trigger
    /// 1 for a slot's first run; retries count up.
    public var attempt: Int
    /// The failed run a retry repeats.
    public var retryOf: RunID?
    /// Not before this instant: the slot's run time, or a retry's.
    public var dueAt: Instant
    /// The row an operator's run or rerun already has (recorded `queued` when it was asked for).
    public var queuedRunID: RunID?

    public init(job: JobName, logicalTime: Instant, trigger: Trigger, attempt: Int = 1, retryOf: RunID? = nil, dueAt: Instant, queuedRunID: RunID? = nil) {
        self.queuedRunID = queuedRunID
        self.job = job
        self.logicalTime = logicalTime
        self.trigger = trigger
        self.attempt = attempt
        self.retryOf = retryOf
        self.dueAt = dueAt
    }

    /// The slot it serves, which its deadlines and its retries share.
    public var slot: SlotKey { SlotKey(job: job, logicalTime: logicalTime) }
}

/// One slot of one job.
public struct SlotKey: Hashable, Sendable {
    public let job: JobName
    public let logicalTime: Instant
}

/// What the scheduler asks its owner to do. The owner carries these out in order (start
/// processes, write rows, log) and reports back with `runStarted`, `runEnded` or `runRefused`.
public enum SchedulerAction: Sendable, Equatable {
    /// Start this run now.
    case start(PlannedRun)
    /// Record a slot that was not run on purpose.
    case recordSkipped(job: JobName, logicalTime: Instant, reason: String)
    /// Record a slot that was not run because the daemon was down (or the clock jumped).
    case recordMissed(job: JobName, logicalTime: Instant, reason: String)
    /// Slots found late after downtime or a clock jump; `running` of them will run.
    case catchUpStarted(job: JobName, late: Int, running: Int)
    /// A slot's run did not start, or did not finish, by its deadline.
    case deadlineBreached(DeadlineBreach)
    /// A failed attempt will be retried at `run.dueAt` (for the log; nothing to do now).
    case retryScheduled(PlannedRun)
}

/// `deadline.start_by` or `finish_by` passed before the slot's run started or finished.
public struct DeadlineBreach: Sendable, Equatable {
    public enum Kind: String, Sendable { case startBy = "start_by", finishBy = "finish_by" }
    public var job: JobName
    public var logicalTime: Instant
    public var kind: Kind
    public var deadline: Instant
}
