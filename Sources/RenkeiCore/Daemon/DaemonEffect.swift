/// What `DaemonCore` asks the shell to do, in order. Each effect has exactly one place in the
/// shell that carries it out.
public enum DaemonEffect: Sendable, Equatable {
    /// Start this run (lock, row, work directory, steps); report `runStarted` and `runEnded`.
    case start(PlannedRun)
    /// Stop the running run of `job` (SIGTERM, then SIGKILL): by an operator (`by`), or because
    /// renkeid is stopping (`by` nil, recorded `interrupted`).
    case stop(job: JobName, by: String?)
    /// Record a slot that was not run. `storage`: it came while the store could not be written.
    case recordSkipped(job: JobName, logicalTime: Instant, reason: String)
    case recordMissed(job: JobName, logicalTime: Instant, reason: String, storage: Bool)
    /// Record that an operator's queued run was cancelled before it started.
    case recordCancelled(runID: RunID, job: JobName, by: String)
    /// Write the end of a run whose end could not be written when it ended.
    case recordEnd(runID: RunID, job: JobName, outcome: RunOutcome)
    /// A slot's run did not start, or did not finish, by its deadline: log and record it.
    case recordDeadlineBreach(DeadlineBreach)
    /// Record this slot `waiting` for `waitsFor` (its upstreams) until `until`; report `waitRecorded`.
    case recordWaiting(PlannedRun, waitsFor: [JobName], until: Instant)
    /// A waiting run's upstreams did not succeed in time: record it failed, class `upstream`.
    case recordUpstreamFailed(run: RunID, job: JobName, message: String)
    /// For the log: the upstreams of `job` all succeeded for `date`; its waiting run `run` (or,
    /// without a schedule, a new run) starts.
    case upstreamsSucceeded(job: JobName, run: RunID?, date: BusinessDate)
    /// A run of a `rerun --downstream` plan will not run: a rerun before it did not succeed.
    /// Recorded `cancelled` with `message`.
    case recordNotRun(run: RunID, job: JobName, message: String)
    /// Record (and log) that `job` is held, or released (`expired`: its `until` passed).
    case recordHold(job: JobName, Hold)
    case recordRelease(job: JobName, by: String, expired: Bool)
    /// For the log only.
    /// `storage`: the slots passed while the store could not be written, else while renkeid was down.
    case catchUpStarted(job: JobName, late: Int, running: Int, storage: Bool)
    case retryScheduled(PlannedRun)
    /// The store cannot be written: log it once, say it in the status.
    case storageLost(StorageProblem)
    /// Try the cheapest write (`RunStore.probe`) and report `storeProbed`.
    case probeStore
    /// The store is writable again after an outage of `since`…now; `unrecorded` runs' ends and
    /// `slots` slots are being written.
    case storageBack(since: Instant, unrecorded: Int, slots: Int)
    /// The store's path names another file than the one open: stop with status 1 so that systemd
    /// starts renkeid on the real file.
    case exitForRestart(StorageProblem)
    /// Send this notice (mail or command), off the loop, record it, and report `notificationEnded`.
    case notify(Notice)
    /// A failed send of notice `id` is tried again at `retryAt`, or given up (`retryAt` nil): log it.
    case notificationFailed(Notice, message: String, retryAt: Instant?)
    /// Nothing runs any more and renkeid is stopping: the loop ends.
    case stopped
}
