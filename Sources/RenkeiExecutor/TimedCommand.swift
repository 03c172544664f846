import Foundation
import RenkeiCore
import Subprocess
import Synchronization
import SystemPackage

/// A short helper program given bytes on its standard input (sendmail, a paging command): run
/// without a shell, in its own session, and killed with all it started when it takes longer than
/// its time limit, so that a hanging MTA never holds anything up.
public struct TimedCommand: Sendable {
    public var arguments: [String]
    public var environment: [String: String]
    public var input: [UInt8]
    public var timeLimit: JobDuration

    public init(arguments: [String], environment: [String: String], input: [UInt8], timeLimit: JobDuration) {
        self.arguments = arguments
        self.environment = environment
        self.input = input
        self.timeLimit = timeLimit
    }

    /// How it ended: nil when it exited 0, else what went wrong, for the operator
    /// ("/usr/sbin/sendmail exited 75: …", "… did not finish within 30s and was killed").
    public func run() async -> String? {
        guard let program = arguments.first, program.hasPrefix("/") else { return "the command must start with an absolute path" }
        guard FileManager.default.fileExists(atPath: program) else { return "\(program) does not exist" }
        guard access(program, X_OK) == 0 else { return "\(program) is not executable: \(String(cString: strerror(errno)))" }
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(1))]
        var environment: [Environment.Key: String] = [:]
        for (name, value) in self.environment {
            if let key = Environment.Key(rawValue: name) { environment[key] = value }
        }
        let configuration = Configuration(
            executable: .path(FilePath(program)),
            arguments: Arguments(Array(arguments.dropFirst())),
            environment: .custom(environment),
            workingDirectory: FilePath("/"),
            platformOptions: options
        )
        // The input is handed over as an unlinked file (0600), not written into a pipe: a program
        // that exits without reading it (sendmail refusing at once) must not get renkeid killed by
        // SIGPIPE, which renkeid cannot ignore without its steps inheriting that.
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory + "/renkei-notice-XXXXXX").utf8CString)
        let memory = mkstemp(&template)
        if memory >= 0 { unlink(String(cString: template)) }
        guard memory >= 0 else { return "cannot hold the notice for \(program): \(String(cString: strerror(errno)))" }
        var closeMemory = true
        defer { if closeMemory { close(memory) } }
        let written = input.withUnsafeBytes { bytes in bytes.isEmpty ? 0 : Foundation.write(memory, bytes.baseAddress, bytes.count) }
        guard written == input.count, lseek(memory, 0, SEEK_SET) == 0 else { return "cannot hold the notice for \(program): \(String(cString: strerror(errno)))" }
        let seen = Seen()
        let limit = timeLimit
        do {
            closeMemory = false
            let result = try await Subprocess.run(configuration, input: .fileDescriptor(FileDescriptor(rawValue: memory), closeAfterSpawningProcess: true),
                                                  output: .sequence, error: .sequence) { execution in
                let pid = execution.processIdentifier.value
                await withTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        do { for try await _ in execution.standardOutput {} } catch {}
                    }
                    tasks.addTask {
                        do {
                            for try await buffer in execution.standardError {
                                buffer.withUnsafeBytes { bytes in
                                    seen.stderr.withLock { if $0.count < 2048 { $0 += bytes.prefix(2048 - $0.count) } }
                                }
                            }
                        } catch {}
                    }
                    tasks.addTask {
                        guard (try? await Task.sleep(for: limit.duration)) != nil else { return }
                        seen.timedOut.withLock { $0 = true }
                        await ProcessGroup(id: pid).terminate(grace: JobDuration(seconds: 1))
                    }
                    // Both streams end when the process (and whatever holds them) is gone.
                    await tasks.next()
                    await tasks.next()
                    tasks.cancelAll()
                }
            }
            await ProcessGroup(id: result.processIdentifier.value).terminate(grace: JobDuration(seconds: 1))
            if seen.timedOut.withLock({ $0 }) { return "\(program) did not finish within \(limit) and was killed" }
            let said = String(decoding: seen.stderr.withLock { $0 }, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { ": " + SafeText.visible(String($0)) } ?? ""
            switch result.terminationStatus {
            case .exited(0): return nil
            case .exited(let code): return "\(program) exited \(code)\(said)"
            case .signaled(let signal): return "\(program) was killed by signal \(signal)\(said)"
            }
        } catch {
            return "\(program) could not be started: \(error)"
        }
    }
}

/// What the readers and the timer of a `TimedCommand` saw.
private final class Seen: Sendable {
    /// The time limit passed and the process group was killed.
    let timedOut = Mutex(false)
    /// The first 2 KiB of standard error: its first line explains a failure.
    let stderr = Mutex([UInt8]())
}
