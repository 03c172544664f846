import ArgumentParser
import Dispatch
import Foundation
import RenkeiCore
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd
import RenkeiControl
import Logging

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job now, outside its schedule.",
        discussion: """
            With --local the run happens in this process, without the daemon (for maintenance \
            windows when renkeid is stopped). It is recorded exactly as the daemon records runs, \
            takes the same per-job lock, and ends with exit status 0 if it succeeded, 1 if not. \
            Ctrl-C cancels it: the steps' processes get SIGTERM, then SIGKILL, and the run is \
            recorded as cancelled.

            Example:
              renkeictl run juki-to-fukushi --local --logical-time 2026-11-25 --reason "late file from the registry"
            """
    )

    @OptionGroup var location: LocationOptions

    @Argument(help: "The job to run (its file name without .yaml).")
    var job: String

    @Flag(help: "Run in this process, without the daemon.")
    var local = false

    @Option(help: ArgumentHelp("The slot to run for: 2026-11-26T06:30:00+09:00, 2026-11-26 06:30 (job's zone) or 2026-11-26. Default: now.", valueName: "T"))
    var logicalTime: String?

    @Option(help: ArgumentHelp("Why the run is needed; kept with the run.", valueName: "TEXT"))
    var reason: String?

    @Flag(help: "Print the steps' output lines as they come (with --local).")
    var output = false

    @Flag(help: "Follow the run until it ends; exit 0 if it succeeded, 1 if not.")
    var wait = false

    func validate() throws {
        if let problem = SafeText.reasonProblem(reason) { throw ValidationError("--reason: \(problem)") }
    }

    func run() async throws {
        let locations = location.locations
        guard local else {
            let response = try askDaemon(locations, ControlRequest(operation: .run, job: job, logicalTime: logicalTime, reason: reason))
            print(SafeText.visibleLines(response.message))
            if wait, let id = response.runs?.first?.id, !(try waitForRun(locations, id)) {
                throw ExitCode(ExitStatus.runDidNotSucceed.rawValue)
            }
            return
        }
        let loaded = try JobLookup.job(job, in: locations)
        let logical = try JobLookup.logicalTime(logicalTime, of: loaded.job)

        let request = RunRequest(job: loaded, logicalTime: logical, trigger: .manual, requestedBy: Requester.current, reason: reason)
        let requestText = ControlRequest(operation: .run, job: job, logicalTime: logicalTime, reason: reason)
        try await LocalRun.perform(request, locations: locations, audited: requestText, printOutput: output)
    }
}

/// Finding a job by name and reading `--logical-time` for it, as `run`, `step` and others do.
enum JobLookup {
    static func job(_ name: String, in locations: Locations) throws -> LoadedJob {
        let catalog = JobLoader.load(directory: locations.jobs)
        guard let loaded = catalog.job(named: name) else {
            if let problem = catalog.problems.first(where: { ($0.file as NSString).lastPathComponent == "\(name).yaml" }) {
                let all = catalog.problems.filter { $0.file == problem.file }.map(\.description).joined(separator: "\n")
                throw Failure(.usage, "\(name) cannot run: its job file has problems:\n\(all)")
            }
            throw Failure(.noSuchJobOrRun, "no job named \(name) in \(locations.jobs) (see 'renkeictl check --jobs \(locations.jobs)')")
        }
        return loaded
    }

    /// `--logical-time` in the job's zone; now when not given.
    static func logicalTime(_ text: String?, of job: Job) throws -> LogicalTime {
        let zone = job.timezone ?? MachineTimeZone.identifier
        guard let text else { return LogicalTime(epochSeconds: Int64(Date().timeIntervalSince1970), zoneIdentifier: zone) }
        do { return try LogicalTime.parse(text, zoneIdentifier: zone) } catch {
            throw Failure(.usage, "--logical-time: \(error)")
        }
    }
}

/// A run carried out in this process (`run --local`, `rerun --local`), recorded, logged and
/// audited as the daemon would; ends the command with 0 or 1.
enum LocalRun {
    static func perform(_ request: RunRequest, locations: Locations, audited: ControlRequest, printOutput: Bool) async throws {
        let state = StateDirectory(locations.state)
        let store: RunStore
        do { store = try state.openStoreForAuditedWriting() } catch {
            throw Failure(.runDidNotSucceed, "\(error)")
        }
        // The run's events and output go to the journal too, as the daemon's do.
        let journal = Journal.isAvailable
        if journal {
            LoggingSystem.bootstrap { _ in JournalLogHandler(identifier: "renkeictl") }
        } else {
            LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        }
        let events = RunEvents(logger: Logger(label: "renkeictl"))
        let destination: OutputDestination? = journal ? .journal(logger: events.logger) : nil
        let sink: @Sendable (RunRecord, String, RenkeiCore.OutputStream, [UInt8]) -> Void = { run, step, stream, line in
            destination?.sink(run, step, stream, line)
            if printOutput { printLine(run, step, stream, line) }
        }
        let runner = Runner(state: state, store: store, sink: sink, onFile: { run, step, file in events.file(file, step: step, of: run) })
        func audit(_ result: String, _ runID: Int64?) async {
            _ = try? await store.appendAudit(Self.auditEntry(audited, reason: request.reason, result), runID: runID)
        }
        let job = request.job.job
        let task = Task {
            try await runner.perform(request) { queued in
                events.started(queued, job: job)
                FileHandle.standardOutput.write(Data("run \(queued.id!) of \(queued.job) for \(request.logicalTime.iso8601) started\n".utf8))
            }
        }
        let cancellation = CancelOnSignals(task: task, reason: request.cancellation)
        defer { cancellation.stop() }
        let finished: RunRecord
        do {
            finished = try await task.value
            await audit("accepted (--local)", finished.id)
        } catch let busy as RunLock.Busy {
            await audit("refused: the job is already running", nil)
            throw Failure(.runDidNotSucceed, "\(busy)")
        } catch let notRecorded as RunNotRecorded {
            // No daemon will write the end later: the row stays unfinished, owned by this process,
            // and the next process to open the store marks it interrupted.
            throw Failure(.runDidNotSucceed, "\(notRecorded)")
        } catch {
            throw Failure(.runDidNotSucceed, "the run could not be recorded: \(error)")
        }
        events.ended(finished, job: job, retryAt: nil)
        destination?.flush()
        print(RunSummary.outcomeLine(finished))
        if finished.state != .succeeded {
            print("  details: renkeictl show \(finished.id!)")
            throw ExitCode(ExitStatus.runDidNotSucceed.rawValue)
        }
    }

    /// Refusals are audited too.
    static func auditRefusal(_ audited: ControlRequest, locations: Locations, reason: String?, _ result: String) async {
        guard let store = try? StateDirectory(locations.state).openStoreForAuditedWriting() else { return }
        _ = try? await store.appendAudit(auditEntry(audited, reason: reason, result), runID: nil)
    }

    /// A `--local` request, audited like one to the daemon: who, from which process, for what.
    static func auditEntry(_ audited: ControlRequest, reason: String?, _ result: String) -> AuditEntry {
        let me = Requester.current
        let text = (try? String(decoding: ControlProtocol.encode(audited), as: UTF8.self))?.trimmingCharacters(in: .newlines) ?? "\(audited.operation)"
        return AuditEntry(uid: Int64(me.uid), user: me.userName, pid: Int64(getpid()), request: text, reason: reason, result: result)
    }

    /// `--output`: each step's lines, prefixed with the step's name.
    @Sendable static func printLine(_ run: RunRecord, _ step: String, _ stream: RenkeiCore.OutputStream, _ line: [UInt8]) {
        let handle = stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError
        handle.write(Data("[\(step)] ".utf8) + Data(line) + Data("\n".utf8))
    }
}

extension Requester {
    /// The account running this command; under sudo, the person behind it too.
    static var current: Requester {
        let uid = getuid()
        var name = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(uid)"
        if let sudoUser = ProcessInfo.processInfo.environment["SUDO_USER"], !sudoUser.isEmpty, sudoUser != name {
            name += " (sudo by \(sudoUser))"
        }
        return Requester(uid: uid, userName: name)
    }
}

/// SIGINT and SIGTERM cancel the run's task, so its processes are stopped and the run is recorded
/// as cancelled instead of being left to the next start-up to call interrupted.
final class CancelOnSignals {
    private let sources: [DispatchSourceSignal]

    init(task: Task<RunRecord, any Error>, reason: CancellationReason) {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("renkeictl: cancelling the run (stopping its processes)…\n".utf8))
                reason.operatorCancels(Requester.current.userName)
                task.cancel()
            }
            source.resume()
            return source
        }
    }

    func stop() {
        for source in sources { source.cancel() }
    }
}
