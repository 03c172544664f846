/// Everything that happens to `renkeid`, as its one loop receives it. The loop hands each event to
/// `DaemonCore`, which answers with `DaemonEffect`s; nothing else changes the daemon's state.
public enum DaemonEvent: Sendable, Equatable {
    /// Time passed: a slot, a retry, a deadline or a store probe may be due.
    case tick
    /// SIGTERM or SIGINT. The first stops starting runs and lets running ones finish within the
    /// grace; a second stops them now.
    case stopRequested(signal: String)
    /// The grace after the first stop request is over: running runs are stopped.
    case graceOver
    /// An operator's run or rerun was recorded `queued` (`queuedRunID` set): it joins the queue.
    case runQueued(PlannedRun)
    /// An operator asks to cancel run `runID`.
    case cancelRequested(runID: RunID, by: String)
    /// The run of `job` has its row: it is running.
    case runStarted(job: JobName, runID: RunID)
    /// The run of `job` ended.
    case runEnded(job: JobName, RunEnd)
    /// A write of the loop's own (a slot, a deadline breach, a run's late end) failed because the
    /// store could not be written; the write is kept and tried again once it can.
    case writeFailed(DaemonEffect, StorageProblem)
    /// Someone else's write failed for the store's sake (a control request's row, say).
    case storeFailed(StorageProblem)
    /// A slot's `waiting` row was written (`recordWaiting`): it waits as run `run` until `until`.
    case waitRecorded(PlannedRun, run: RunID, until: Instant)
    /// A `rerun --downstream` plan was recorded: each of these runs (recorded `waiting`) starts
    /// once the runs in its `after` succeeded; a failure there stops it (recorded not run).
    /// `ended`: runs of the plan that already ended (the plan is restored after a restart).
    case planRecorded([PlanWait], ended: [RunID: RunState])
    /// An operator holds `job` (`renkeictl hold`), or lets it go (`renkeictl release`).
    case holdRequested(job: JobName, Hold)
    case releaseRequested(job: JobName, by: String)
    /// The probe the core asked for: nil when the store can be written again.
    case storeProbed(StorageProblem?)
    /// The send of a `notify` effect ended: `failure` nil when it was sent, else what went wrong.
    case notificationEnded(Notice, failure: String?)
}

/// A rerun of a `rerun --downstream` plan waiting for the reruns of its upstreams.
public struct PlanWait: Sendable, Equatable {
    /// Its run (`queuedRunID`, recorded `waiting`), job and logical time.
    public var planned: PlannedRun
    /// The plan's runs it waits for, and their jobs (to name them).
    public var after: [RunID: JobName]

    public init(planned: PlannedRun, after: [RunID: JobName]) {
        self.planned = planned
        self.after = after
    }
}

/// How a started run ended, as the shell that ran it reports it.
public enum RunEnd: Sendable, Equatable {
    /// Its final row is written. `facts`: what a notification may say about it (nil: nothing is told).
    case recorded(runID: RunID, state: RunState, facts: NoticeRun? = nil)
    /// It could not start: another process holds the job's lock.
    case refused(reason: String)
    /// It ended (or could not go on) but its end could not be written: the store failed. `runID`
    /// is nil when even its first row could not be written; `outcome` is what its row must say.
    case notRecorded(runID: RunID?, outcome: RunOutcome, StorageProblem)
}

/// Why the store cannot be written, in the operator's words (the store's `StoreFailure`, as the
/// core needs it).
public struct StorageProblem: Sendable, Equatable, CustomStringConvertible {
    /// One line for the log and the status: what, which path, what to do.
    public var description: String
    /// Short, for `STATUS=`: "no space left on its file system".
    public var summary: String
    /// The path no longer names the file renkeid has open: writing can never resume.
    public var needsRestart: Bool

    public init(_ description: String, summary: String, needsRestart: Bool = false) {
        self.description = description
        self.summary = summary
        self.needsRestart = needsRestart
    }
}
