import RenkeiCore
import RenkeiLink
import RenkeiRuntime
import RenkeiStore

/// What reaches the daemon's loop, in the order it was sent: the core's events, plus what only
/// the shell handles (a reload, an operator's queued run with its request, a question).
enum Mail: Sendable {
    /// A `DaemonEvent` for the core.
    case event(DaemonEvent)
    /// SIGHUP: read the job files again.
    case reload
    /// A run's row exists: the run-started event goes to the journal before anything of its end.
    case runStarted(RunRecord)
    /// A run's task ended.
    case runFinished(JobName, RunFinish)
    /// An operator's run or rerun, recorded `queued`: the loop keeps the request until it starts.
    case queued(RunRequest, RunRecord)
    /// A slot's `waiting` row was written: the loop keeps the request until its upstreams let it start.
    case waiting(RunRequest, RunRecord, PlannedRun, until: Instant)
    /// A `rerun --downstream` plan was recorded: the first rerun `queued`, the others `waiting`,
    /// each with the runs of the plan it waits for.
    case plan([(request: RunRequest, row: RunRecord, after: [RunID: JobName])])
    /// A file arrived complete in a `trigger:` directory (from the `TriggerWatcher`'s thread).
    case fileArrived(TriggerArrival)
    /// A question from the control socket, with an event to handle first (cancel) or none: the
    /// answer is what the daemon looks like afterwards, and what the event made it do.
    case ask(DaemonEvent?, reply: @Sendable (DaemonView, [DaemonEffect]) -> Void)
}

/// How a run's task ended, as the `Runner` said.
enum RunFinish: Sendable {
    case recorded(RunRecord)
    case refused(String)
    case notRecorded(RunNotRecorded)
    /// An error that is not the store's and left no row to close (the job's file vanished, say).
    case lost(String)
}

/// The loop's one input: an unbounded stream, so that a sender never waits for the loop.
struct Inbox: Sendable {
    let mails: AsyncStream<Mail>
    private let continuation: AsyncStream<Mail>.Continuation

    init() {
        (mails, continuation) = AsyncStream.makeStream(of: Mail.self, bufferingPolicy: .unbounded)
    }

    func send(_ mail: Mail) { continuation.yield(mail) }

    func send(_ event: DaemonEvent) { continuation.yield(.event(event)) }

    /// Sends `event` (if any) and returns what the daemon looks like once it is handled.
    func ask(_ event: DaemonEvent? = nil) async -> (view: DaemonView, effects: [DaemonEffect]) {
        await withCheckedContinuation { answer in
            continuation.yield(.ask(event) { view, effects in answer.resume(returning: (view, effects)) })
        }
    }

    func close() { continuation.finish() }
}
