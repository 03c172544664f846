import Foundation
import RenkeiCore
import RenkeiExecutor
import RenkeiStore

/// Carries out one run from start to end: lock, row, work directory, steps, final row. The same
/// path serves `renkeictl run --local` and the daemon, so a run is recorded the same way whoever
/// started it.
public enum RerunError: Error, CustomStringConvertible {
    case workDirectoryGone(String)

    public var description: String {
        switch self {
        case .workDirectoryGone(let path):
            "the earlier run's work directory \(path) is gone, so its steps' results cannot be reused: rerun with --from-top"
        }
    }
}

public struct Runner: Sendable {
    public let state: StateDirectory
    /// The SQLite store runs are queued in (`enqueue`); nil on a PostgreSQL node, whose runs are
    /// queued by the leader and claimed.
    public let store: RunStore?
    /// Where each run's progress is written: `store`, or a claimed run's records on PostgreSQL.
    public let records: any RunRecords
    /// The environment `RunEnvironment` takes `PATH`, `HOME` and `LANG` from.
    public let inherited: [String: String]
    /// Who owns the rows this runner writes; a row whose owner is gone is `interrupted`.
    public let owner: ProcessIdentity
    /// Each output line of each step (the journal, in the daemon).
    public let sink: (@Sendable (RunRecord, String, RenkeiCore.OutputStream, [UInt8]) -> Void)?
    /// What a cancelled run is recorded as: `cancelled` when an operator stops it, `interrupted`
    /// when the daemon is shutting down (it counts as a failed attempt and is retried later).
    public let cancelledMeans: RunState
    /// The program built-in steps run as (`renkeictl`, whose `link-step` carries them out).
    public let linkHelper: String
    /// Each file a built-in step received or delivered, once recorded (the journal, in the daemon).
    public let onFile: (@Sendable (RunRecord, String, LinkFile) -> Void)?

    public typealias LineSink = @Sendable (RunRecord, String, RenkeiCore.OutputStream, [UInt8]) -> Void
    public typealias FileSink = @Sendable (RunRecord, String, LinkFile) -> Void

    /// A runner on the SQLite store: runs are queued in it and recorded to it.
    public init(state: StateDirectory, store: RunStore, inherited: [String: String] = ProcessInfo.processInfo.environment,
                owner: ProcessIdentity = .current, sink: LineSink? = nil, cancelledMeans: RunState = .cancelled,
                linkHelper: String = LinkStepFiles.defaultHelper, onFile: FileSink? = nil) {
        self.init(state: state, store: store, records: store, inherited: inherited, owner: owner, sink: sink,
                  cancelledMeans: cancelledMeans, linkHelper: linkHelper, onFile: onFile)
    }

    /// A runner that writes each run's progress to `records` and queues nothing itself (a
    /// PostgreSQL node: its runs were queued by the leader and claimed).
    public init(state: StateDirectory, records: any RunRecords, inherited: [String: String] = ProcessInfo.processInfo.environment,
                owner: ProcessIdentity = .current, sink: LineSink? = nil, cancelledMeans: RunState = .cancelled,
                linkHelper: String = LinkStepFiles.defaultHelper, onFile: FileSink? = nil) {
        self.init(state: state, store: nil, records: records, inherited: inherited, owner: owner, sink: sink,
                  cancelledMeans: cancelledMeans, linkHelper: linkHelper, onFile: onFile)
    }

    private init(state: StateDirectory, store: RunStore?, records: any RunRecords, inherited: [String: String], owner: ProcessIdentity,
                 sink: LineSink?, cancelledMeans: RunState, linkHelper: String, onFile: FileSink?) {
        self.state = state
        self.store = store
        self.records = records
        self.inherited = inherited
        self.owner = owner
        self.sink = sink
        self.cancelledMeans = cancelledMeans
        self.linkHelper = linkHelper
        self.onFile = onFile
    }

    /// Records `request` as a `queued` run now (manual runs and reruns get their id at once),
    /// with the operator's `audit` entry in the same transaction.
    public func enqueue(_ request: RunRequest, audit: AuditEntry? = nil, waitingFor: String? = nil) async throws -> RunRecord {
        let job = request.job.job
        var parameters: [String: String] = [:]
        switch request.steps {
        case .all: break
        case .from(let first): parameters["from_step"] = job.steps[first].name
        case .only(let step): parameters["only_step"] = job.steps[step].name
        }
        if request.force { parameters["force"] = "true" }
        if let skipped = request.skippedStep { parameters["skipped_by_operator"] = job.steps[skipped].name }
        if let file = request.triggerFile { parameters["trigger_file"] = file }
        switch request.workDirectory {
        case .fresh: break
        case .reuse(let path): parameters["work_directory"] = "reused \(path)"
        case .copy(let path): parameters["work_directory"] = "copied from \(path)"
        }
        var new = NewRun(
            job: job, logicalTime: request.logicalTime, trigger: request.trigger, attempt: request.attempt,
            parameters: parameters, requestedByUid: request.requestedBy.map { Int64($0.uid) },
            requestedByUser: request.requestedBy?.userName, reason: request.reason,
            rerunOf: request.rerunOf, retryOf: request.retryOf,
            stepStates: job.steps.indices.map { position in
                if request.steps.includes(position) { return .pending }
                if position == request.skippedStep { return .skippedByOperator }
                if case .from(let first) = request.steps, position < first { return .reused }
                return .notRun
            }
        )
        new.waitingFor = waitingFor
        guard let store else { throw RunNotQueued() }
        return try await store.enqueue(new, owner: owner, at: Date(), audit: audit)
    }

    /// Runs `request` to its end and returns the final row. `queued` is its row if `enqueue`
    /// already made one. `onQueued` gets the row as soon as it is committed, and is awaited before
    /// the run goes on: whatever it reports (the run-started event) comes before the run's end.
    ///
    /// Throws `RunLock.Busy` when the job is already running (before any row is written, or, for a
    /// queued row, after recording it cancelled). When a store write fails, no further step is
    /// started and the run's end is tried once more; if that fails too (or the queued row itself
    /// could not be written), it throws `RunNotRecorded` with what the row must finally say.
    public func perform(_ request: RunRequest, queued existing: RunRecord? = nil, onQueued: @Sendable (RunRecord) async -> Void = { _ in }) async throws -> RunRecord {
        let job = request.job.job
        let lock: RunLock
        do {
            lock = try RunLock.acquire(job: job.name, state: state)
        } catch let busy as RunLock.Busy {
            if let existing {
                _ = try? await records.finish(runID: existing.id!, outcome: RunOutcome(state: .cancelled, message: "not started: \(busy)"), at: Date())
            }
            throw busy
        }
        defer { withExtendedLifetime(lock) {} }

        let queued: RunRecord
        if let existing {
            queued = existing
        } else {
            do {
                queued = try await enqueue(request)
            } catch let failure as StoreFailure {
                throw RunNotRecorded(runID: nil, outcome: Progress.queued.outcome(after: failure), failure: failure)
            }
        }
        await onQueued(queued)
        let runID = queued.id!

        let workDirectory: String
        let environment: [String: String]
        do {
            workDirectory = try prepareWorkDirectory(request, runID: runID)
            environment = try RunEnvironment.build(for: job, run: .init(
                job: job.name, runID: runID, attempt: request.attempt, trigger: request.trigger,
                logicalTime: request.logicalTime, workDirectory: workDirectory, rerunOf: request.rerunOf,
                triggerFile: request.triggerFile
            ), inherited: inherited, credentials: SystemdCredentials.reader(environment: inherited))
        } catch {
            let outcome = RunOutcome(state: .failed, errorClass: .storage, message: "cannot prepare the run: \(error)")
            return try await recordEnd(of: runID, outcome)
        }
        var progress = Progress.queued
        var ended: [(name: String, termination: StepTermination)] = []
        do {
            let running = try await records.start(runID: runID, environment: environment, workDirectory: workDirectory, at: Date())
            progress = .started
            let runDeadline = job.timeout.map { ContinuousClock.now.advanced(by: $0.duration) }
            for (position, step) in job.steps.enumerated() where request.steps.includes(position) {
                let termination = try await perform(step, at: position, of: running, job: job, environment: environment,
                                                     workDirectory: workDirectory, programDirectory: request.job.directory, runDeadline: runDeadline,
                                                     force: request.mayReplaceDeliveries, progress: &progress)
                ended.append((step.name, termination))
                if !termination.succeeded { break }
            }
        } catch {
            // A write failed mid-run (disk full, say): nothing more is started, and the row says
            // where the run stopped rather than how a step ended that may not have.
            if case .stepEnded(let name, let termination) = progress { ended.append((name, termination)) }
            return try await recordEnd(of: runID, progress.outcome(after: error), ended: ended, tried: false)
        }
        var outcome = RunOutcome.decide(ended)
        if outcome.state == .cancelled {
            if let user = request.cancellation.operatorName {
                outcome.message = "cancelled by \(user) during step \(outcome.failedStep ?? "?")"
            } else if cancelledMeans == .interrupted {
                outcome = RunOutcome(state: .interrupted, errorClass: .interrupted,
                                     message: "renkeid was stopped while step \(outcome.failedStep ?? "?") ran; its processes were stopped",
                                     failedStep: outcome.failedStep)
            }
        }
        // Recorded even if this task was cancelled: the store's writes do not heed cancellation.
        return try await recordEnd(of: runID, outcome, ended: ended)
    }

    /// Writes the run's end, and once more if that fails (`tried: false` when a write before it
    /// failed already, which counts as the first try); then gives up with `RunNotRecorded`.
    private func recordEnd(of runID: Int64, _ outcome: RunOutcome, ended: [(name: String, termination: StepTermination)] = [],
                           tried: Bool = true) async throws -> RunRecord {
        if tried, let recorded = try? await records.finish(runID: runID, outcome: outcome, at: Date()) { return recorded }
        do {
            return try await records.finish(runID: runID, outcome: outcome, at: Date())
        } catch {
            throw RunNotRecorded(runID: runID, outcome: outcome, failure: error, stepsEnded: ended)
        }
    }

    /// How far a run got, as far as the store knows it: what its row says when a write fails.
    private enum Progress {
        /// Its `queued` row, at most.
        case queued
        /// Running; no step is between its start and its end.
        case started
        /// About to start this step; its process is spawned once its start is on record.
        case stepStarting(String)
        /// This step ended so; its end is recorded next.
        case stepEnded(String, StepTermination)

        /// What the row must say after `failure`, when the run's own outcome is not known.
        func outcome(after failure: any Error) -> RunOutcome {
            let known: String
            var step: String?
            switch self {
            case .queued:
                known = "it was not started"
            case .started:
                known = "it was stopped between two steps"
            case .stepStarting(let name):
                known = "step \(name) was not started"
                step = name
            case .stepEnded(let name, let termination):
                known = "step \(name) ended (\(termination.summary)) but that could not be recorded"
                step = name
            }
            return RunOutcome(state: .failed, errorClass: .storage, message: "the run could not be recorded: \(failure); \(known)", failedStep: step)
        }
    }

    /// The run's work directory, made ready as the request says.
    private func prepareWorkDirectory(_ request: RunRequest, runID: Int64) throws -> String {
        let own = state.workDirectory(for: request.job.job.name, runID: runID)
        switch request.workDirectory {
        case .fresh:
            try StateDirectory.makeDirectory(own)
            return own
        case .reuse(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RerunError.workDirectoryGone(path)
            }
            return path
        case .copy(let source):
            try StateDirectory.makeDirectory(own)
            for item in (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? [] {
                try FileManager.default.copyItem(atPath: source + "/" + item, toPath: own + "/" + item)
            }
            return own
        }
    }

    private func perform(_ step: Step, at position: Int, of run: RunRecord, job: Job, environment: [String: String],
                         workDirectory: String, programDirectory: String, runDeadline: ContinuousClock.Instant?, force: Bool,
                         progress: inout Progress) async throws -> StepTermination {
        let runID = run.id!
        progress = .stepStarting(step.name)
        let commandLine: RunEnvironment.CommandLine
        do {
            commandLine = try RunEnvironment.commandLine(of: step, in: environment, credentials: SystemdCredentials.reader(environment: inherited))
        } catch {
            let termination = StepTermination.spawnFailed("cannot expand the command: \(error)")
            progress = .stepEnded(step.name, termination)
            try await records.stepFinished(runID: runID, position: position, end: StepEnd(termination: termination, finishedAt: Date(), stdoutTail: OutputTail(), stderrTail: OutputTail()))
            return termination
        }
        if Task.isCancelled {
            progress = .stepEnded(step.name, .cancelled)
            try await records.stepFinished(runID: runID, position: position, end: StepEnd(termination: .cancelled, finishedAt: Date(), stdoutTail: OutputTail(), stderrTail: OutputTail()))
            return .cancelled
        }
        var link: LinkStepFiles?
        if case .link(let linkStep) = step.command {
            do {
                link = try await LinkStepFiles.prepare(linkStep, step: step.name, position: position, run: run, environment: environment,
                                                 workDirectory: workDirectory, force: force, records: records)
            } catch {
                let termination = StepTermination.linkFailed(.exit, "cannot prepare the step: \(error)")
                progress = .stepEnded(step.name, termination)
                try await records.stepFinished(runID: runID, position: position, end: StepEnd(termination: termination, finishedAt: Date(), stdoutTail: OutputTail(), stderrTail: OutputTail()))
                return termination
            }
        }
        let command = link.map { [linkHelper, "link-step", $0.requestPath] } ?? commandLine.arguments
        // The record gets the argv with each secret `(redacted)`; only the process gets the values.
        let shownCommand = link.map { [linkHelper, "link-step", $0.requestPath] } ?? commandLine.shown
        try await records.stepStarted(runID: runID, position: position, command: shownCommand, at: Date())

        // The step's own timeout, or what is left of the job's, whichever ends first.
        var limit = step.timeout
        if let runDeadline, let jobTimeout = job.timeout {
            let left = ContinuousClock.now.duration(to: runDeadline)
            let leftSeconds = max(Int64(left.components.seconds) + (left.components.attoseconds > 0 ? 1 : 0), 1)
            if limit == nil || leftSeconds < limit!.seconds {
                limit = JobDuration(seconds: min(leftSeconds, jobTimeout.seconds))
            }
        }
        let records = self.records
        var lineSink: OutputLineSink? = nil
        // `log_output: false` keeps a job's output (residents' data) out of the log; the tails keep it.
        if let sink = self.sink, job.logOutput {
            let stepName = step.name
            lineSink = { @Sendable stream, line in sink(run, stepName, stream, line) }
        }
        let onStart: @Sendable (Int32) -> Void = { pid in
            records.stepSpawned(runID: runID, position: position, pid: pid)
        }
        let execution = await StepExecutor.run(
            StepInvocation(arguments: command, environment: environment, workingDirectory: workDirectory,
                           programDirectory: programDirectory, timeout: limit, killGrace: job.killGrace),
            onStart: onStart,
            sink: lineSink
        )
        var termination = execution.termination
        var files: [LinkFile] = []
        if let link {
            (termination, files) = link.answer(to: termination)
        }
        progress = .stepEnded(step.name, termination)
        try await records.stepFinished(runID: runID, position: position, end: StepEnd(
            termination: termination, finishedAt: Date(), stdoutTail: execution.stdout, stderrTail: execution.stderr, files: files
        ))
        progress = .started
        if let onFile { for file in files { onFile(run, step.name, file) } }
        return termination
    }
}

/// `enqueue` on a runner without a local store (a PostgreSQL node queues nothing itself).
public struct RunNotQueued: Error, CustomStringConvertible {
    public var description: String { "this renkeid keeps its runs on PostgreSQL: runs are queued by the leader, not by this runner" }
}
