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
        let emptyTails = (OutputTail(capacity: invocation.tailCapacity), OutputTail(capacity: invocation.tailCapacity))
        func notStarted(_ reason: String) -> StepExecution {
            StepExecution(termination: .spawnFailed(reason), pid: nil, stdout: emptyTails.0, stderr: emptyTails.1)
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

        let watch = Watch()
        do {
            let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) { execution in
                let pid = execution.processIdentifier.value
                watch.started(pid)
                onStart(pid)
                return await withTaskGroup(of: StreamResult.self) { tasks in
                    tasks.addTask {
                        .output(.stdout, await read(execution.standardOutput, .stdout, capacity: invocation.tailCapacity, sink: sink))
                    }
                    tasks.addTask {
                        .output(.stderr, await read(execution.standardError, .stderr, capacity: invocation.tailCapacity, sink: sink))
                    }
                    if let limit = invocation.timeout {
                        tasks.addTask {
                            guard (try? await Task.sleep(for: limit.duration)) != nil else { return .timer }
                            let group = ProcessGroup(id: pid)
                            guard !group.isEmpty else { return .timer }
                            watch.timedOut(after: limit)
                            let killed = await group.terminate(grace: invocation.killGrace)
                            watch.killed(killed)
                            return .timer
                        }
                    }
                    var tails = emptyTails
                    var streamsOpen = 2
                    for await result in tasks {
                        guard case .output(let stream, let tail) = result else { continue }
                        if stream == .stdout { tails.0 = tail } else { tails.1 = tail }
                        streamsOpen -= 1
                        // Both streams end when the process exits: stop the timer.
                        if streamsOpen == 0 { tasks.cancelAll() }
                    }
                    return tails
                }
            }
            let (stdout, stderr) = result.closureResult
            let pid = result.processIdentifier.value
            // Whatever the step left running in its group (a `cmd &` in a shell) ends with it.
            await ProcessGroup(id: pid).terminate(grace: invocation.killGrace)
            return StepExecution(termination: watch.termination(for: result.terminationStatus, cancelled: Task.isCancelled), pid: pid, stdout: stdout, stderr: stderr)
        } catch {
            // Spawning failed (SubprocessError names the path and errno), or the task was cancelled
            // while the process ran: either way nothing of it may be left behind.
            if let pid = watch.pid { await ProcessGroup(id: pid).terminate(grace: invocation.killGrace) }
            let termination: StepTermination = Task.isCancelled ? .cancelled : .spawnFailed("\(program): \(error)")
            return StepExecution(termination: termination, pid: watch.pid, stdout: emptyTails.0, stderr: emptyTails.1)
        }
    }

    /// Stops the process group of a step whose run was abandoned by a process that died (a
    /// `kill -9` of renkeictl, a crash): SIGTERM, then SIGKILL after `grace`.
    public static func stopAbandoned(processGroup pid: Int32, grace: JobDuration) {
        ProcessGroup(id: pid).terminateNow(grace: grace)
    }

    private enum StreamResult: Sendable {
        case output(RenkeiCore.OutputStream, OutputTail)
        case timer
    }

    /// Reads one stream to its end, keeping the tail and handing lines to the sink.
    private static func read(_ sequence: SubprocessOutputSequence, _ stream: RenkeiCore.OutputStream, capacity: Int, sink: OutputLineSink?) async -> OutputTail {
        var tail = OutputTail(capacity: capacity)
        var lines = OutputLines()
        do {
            for try await buffer in sequence {
                buffer.withUnsafeBytes { bytes in
                    tail.append(bytes)
                    if let sink { lines.feed(bytes) { sink(stream, $0) } }
                }
            }
        } catch {
            // A read error or cancellation ends the stream; what was read is kept.
        }
        if let sink { lines.finish { sink(stream, $0) } }
        return tail
    }
}

/// What happened to a running step besides its exit: shared between the timer and the caller.
private final class Watch: Sendable {
    private struct State {
        var pid: Int32?
        var timeout: JobDuration?
        var killed = false
    }
    private let state = Mutex(State())

    var pid: Int32? { state.withLock { $0.pid } }
    func started(_ pid: Int32) { state.withLock { $0.pid = pid } }
    func timedOut(after limit: JobDuration) { state.withLock { $0.timeout = limit } }
    func killed(_ killed: Bool) { state.withLock { $0.killed = killed } }

    func termination(for status: TerminationStatus, cancelled: Bool) -> StepTermination {
        let state = state.withLock { $0 }
        if let limit = state.timeout { return .timedOut(limit: limit, killed: state.killed) }
        if cancelled { return .cancelled }
        switch status {
        case .exited(let code): return .exited(code)
        case .signaled(let signal): return .signaled(signal)
        }
    }
}
