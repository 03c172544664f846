import Foundation
import RenkeiCore
import Subprocess
import Synchronization
import SystemPackage

/// Runs one step's process: in its own session, without a shell, with a bounded record of its
/// output, and with nothing of it left behind when it ends.
public enum StepExecutor {
    /// Runs the step and reports how it ended. Never throws: a process that cannot start is a
    /// `spawnFailed` termination with the reason, a cancelled task is `cancelled`.
    ///
    /// - `onStart` gets the pid as soon as the process exists (the run record wants it).
    /// - `sink` gets each output line as it comes; nil skips line splitting altogether.
    public static func run(
        _ invocation: StepInvocation,
        onStart: @Sendable (Int32) -> Void = { _ in },
        sink: OutputLineSink? = nil
    ) async -> StepExecution {
        func notStarted(_ reason: String) -> StepExecution {
            let empty = OutputTail(capacity: invocation.tailCapacity)
            return StepExecution(termination: .spawnFailed(reason), pid: nil, stdout: empty, stderr: empty)
        }
        guard let programName = invocation.arguments.first, !programName.isEmpty else { return notStarted("the command is empty") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: invocation.workingDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return notStarted("the working directory \(invocation.workingDirectory) does not exist")
        }
        let program: String
        switch ProgramLocator.locate(programName, programDirectory: invocation.programDirectory, path: invocation.environment["PATH"]) {
        case .success(let path): program = path
        case .failure(let failure): return notStarted(failure.message)
        }

        var options = PlatformOptions()
        // Its own session: the step and everything it starts form one process group we can signal.
        options.createSession = true
        // When the task is cancelled (operator cancel, daemon shutdown): SIGTERM to the group first.
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: invocation.killGrace.duration)]
        var environment: [Environment.Key: String] = [:]
        for (name, value) in invocation.environment {
            if let key = Environment.Key(rawValue: name) { environment[key] = value }
        }
        let configuration = Configuration(
            executable: .path(FilePath(program)),
            arguments: Arguments(executablePathOverride: programName, remainingValues: Array(invocation.arguments.dropFirst())),
            environment: .custom(environment),
            workingDirectory: FilePath(invocation.workingDirectory),
            platformOptions: options
        )

        let watch = Watch(tailCapacity: invocation.tailCapacity)
        do {
            let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) { execution in
                let pid = execution.processIdentifier.value
                watch.started(pid)
                onStart(pid)
                await withTaskGroup(of: Void.self) { tasks in
                    let readers = [(execution.standardOutput, RenkeiCore.OutputStream.stdout), (execution.standardError, .stderr)]
                    for (sequence, stream) in readers {
                        tasks.addTask { await read(sequence, stream, into: watch, sink: sink) }
                    }
                    if let limit = invocation.timeout {
                        tasks.addTask {
                            guard (try? await Task.sleep(for: limit.duration)) != nil else { return }
                            let group = ProcessGroup(id: pid)
                            guard !group.isEmpty else { return }
                            watch.timedOut(after: limit)
                            watch.killed(await group.terminate(grace: invocation.killGrace))
                        }
                    }
                    // Both streams end when the process exits; then the timer is not needed.
                    await tasks.next()
                    await tasks.next()
                    tasks.cancelAll()
                }
            }
            let pid = result.processIdentifier.value
            // Whatever the step left running in its group (a `cmd &` in a shell) ends with it.
            await ProcessGroup(id: pid).terminate(grace: invocation.killGrace)
            return watch.execution(watch.termination(for: result.terminationStatus, cancelled: Task.isCancelled))
        } catch {
            // Spawning failed (SubprocessError names the path and errno), or the task was cancelled
            // while the process ran: either way nothing of it may be left behind.
            if let pid = watch.pid { await ProcessGroup(id: pid).terminate(grace: invocation.killGrace) }
            return watch.execution(Task.isCancelled ? .cancelled : .spawnFailed("\(program): \(error)"))
        }
    }

    /// Stops the process group of a step whose run was abandoned by a process that died (a
    /// `kill -9` of renkeictl, a crash): SIGTERM, then SIGKILL after `grace`.
    public static func stopAbandoned(processGroup pid: Int32, grace: JobDuration) {
        ProcessGroup(id: pid).terminateNow(grace: grace)
    }

    /// Reads one stream to its end, keeping its tail in `watch` and handing lines to the sink.
    /// The tail lives in `watch`, not here, so what was printed survives a cancelled run.
    private static func read(_ sequence: SubprocessOutputSequence, _ stream: RenkeiCore.OutputStream, into watch: Watch, sink: OutputLineSink?) async {
        var lines = OutputLines()
        do {
            for try await buffer in sequence {
                buffer.withUnsafeBytes { bytes in
                    watch.append(bytes, to: stream)
                    if let sink { lines.feed(bytes) { sink(stream, $0) } }
                }
            }
        } catch {
            // A read error or cancellation ends the stream; what was read is kept.
        }
        if let sink { lines.finish { sink(stream, $0) } }
    }
}

/// What happened to a running step besides its exit, shared by its readers, its timer and the caller.
private final class Watch: Sendable {
    private struct State {
        var pid: Int32?
        var timeout: JobDuration?
        var killed = false
        var stdout: OutputTail
        var stderr: OutputTail
    }
    private let state: Mutex<State>

    init(tailCapacity: Int) {
        state = Mutex(State(stdout: OutputTail(capacity: tailCapacity), stderr: OutputTail(capacity: tailCapacity)))
    }

    var pid: Int32? { state.withLock { $0.pid } }
    func started(_ pid: Int32) { state.withLock { $0.pid = pid } }
    func timedOut(after limit: JobDuration) { state.withLock { $0.timeout = limit } }
    func killed(_ killed: Bool) { state.withLock { $0.killed = killed } }

    func append(_ bytes: UnsafeRawBufferPointer, to stream: RenkeiCore.OutputStream) {
        state.withLock { state in
            switch stream {
            case .stdout: state.stdout.append(bytes)
            case .stderr: state.stderr.append(bytes)
            }
        }
    }

    func termination(for status: TerminationStatus, cancelled: Bool) -> StepTermination {
        let (timeout, killed) = state.withLock { ($0.timeout, $0.killed) }
        if let timeout { return .timedOut(limit: timeout, killed: killed) }
        if cancelled { return .cancelled }
        switch status {
        case .exited(let code): return .exited(code)
        case .signaled(let signal): return .signaled(signal)
        }
    }

    func execution(_ termination: StepTermination) -> StepExecution {
        state.withLock { StepExecution(termination: termination, pid: $0.pid, stdout: $0.stdout, stderr: $0.stderr) }
    }
}
