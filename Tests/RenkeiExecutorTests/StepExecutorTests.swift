import Foundation
import Synchronization
import Testing
@testable import RenkeiCore
@testable import RenkeiExecutor

private func invocation(_ arguments: [String], timeout: Int64? = nil, grace: Int64 = 10, directory: String = NSTemporaryDirectory()) -> StepInvocation {
    StepInvocation(
        arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], workingDirectory: directory,
        programDirectory: directory, timeout: timeout.map(JobDuration.init(seconds:)), killGrace: JobDuration(seconds: grace)
    )
}

/// Pids of live processes whose command line contains `marker`.
private func processes(containing marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), pid != getpid(),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              stat[stat.index(close, offsetBy: 2)] != "Z",
              let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return nil }
        return String(decoding: data, as: UTF8.self).contains(marker) ? pid : nil
    }
}

@Suite(.serialized) struct StepExecutorTests {
    @Test func exitStatusAndOutputTails() async {
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "echo out; echo err >&2; exit 7"]))
        #expect(result.termination == .exited(7))
        #expect(String(decoding: result.stdout.bytes, as: UTF8.self) == "out\n")
        #expect(String(decoding: result.stderr.bytes, as: UTF8.self) == "err\n")
        #expect(result.pid != nil)
    }

    @Test func deathBySignal() async {
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "kill -KILL $$"]))
        #expect(result.termination == .signaled(SIGKILL))
    }

    @Test func linesReachTheSinkAsTheyCome() async {
        let lines = Mutex<[String]>([])
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "printf 'a\\nb\\n'; printf 'c' >&2"]), sink: { stream, line in
            lines.withLock { $0.append("\(stream.rawValue):\(String(decoding: line, as: UTF8.self))") }
        })
        #expect(result.termination == .exited(0))
        #expect(lines.withLock { $0 }.sorted() == ["stderr:c", "stdout:a", "stdout:b"])
    }

    @Test func timeoutKillsTheWholeProcessGroupIncludingGrandchildren() async throws {
        let marker = "renkei-test-\(UUID().uuidString.prefix(8))"
        let started = ContinuousClock.now
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "sleep 100 & sleep 100 & wait # \(marker)"], timeout: 1, grace: 2))
        #expect(result.termination == .timedOut(limit: JobDuration(seconds: 1), killed: false))
        // Killed by the timeout, not run to its end (the sleeps last 100 s; the bound is loose for busy machines).
        #expect(ContinuousClock.now - started < .seconds(60))
        let pgid = try #require(result.pid)
        #expect(ProcessGroup(id: pgid).livingMembers().isEmpty, "no process of the step's group may survive")
        #expect(processes(containing: marker).isEmpty)
    }

    @Test func aChildThatIgnoresSIGTERMIsKilledAfterTheGrace() async throws {
        let started = ContinuousClock.now
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "trap '' TERM; sleep 100 & while :; do sleep 1; done"], timeout: 1, grace: 1))
        #expect(result.termination == .timedOut(limit: JobDuration(seconds: 1), killed: true))
        let took = ContinuousClock.now - started
        #expect(took >= .seconds(2), "SIGKILL waited for the grace")
        #expect(took < .seconds(60), "and did not wait for the 100 s sleep")
        #expect(ProcessGroup(id: try #require(result.pid)).livingMembers().isEmpty)
    }

    @Test func backgroundProcessesDoNotOutliveASuccessfulStep() async throws {
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 & echo started"], grace: 2))
        #expect(result.termination == .exited(0))
        #expect(ProcessGroup(id: try #require(result.pid)).livingMembers().isEmpty)
    }

    @Test func spawnFailuresNameThePath() async {
        let missing = await StepExecutor.run(invocation(["/nonexistent/juki-export"]))
        #expect(missing.termination == .spawnFailed("/nonexistent/juki-export: No such file or directory"))

        let notExecutable = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-not-exec-\(getpid())").path
        _ = FileManager.default.createFile(atPath: notExecutable, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o644])
        defer { try? FileManager.default.removeItem(atPath: notExecutable) }
        let denied = await StepExecutor.run(invocation([notExecutable]))
        guard case .spawnFailed(let message) = denied.termination else { Issue.record("expected spawnFailed, got \(denied.termination)"); return }
        // root may execute any file with an x bit; 0644 has none, so this fails for root too.
        #expect(message.hasPrefix("\(notExecutable) is not executable"))

        let notInPath = await StepExecutor.run(invocation(["no-such-program-renkei"]))
        #expect(notInPath.termination == .spawnFailed("'no-such-program-renkei' was not found in PATH (/usr/bin:/bin): give its absolute path in 'run', or set PATH under 'environment:'"))

        var badDirectory = invocation(["/bin/true"])
        badDirectory.workingDirectory = "/nonexistent/work"
        let noDirectory = await StepExecutor.run(badDirectory)
        #expect(noDirectory.termination == .spawnFailed("the working directory /nonexistent/work does not exist"))
    }

    @Test func relativeProgramPathsAreFoundInTheJobsDirectory() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-jobs-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/bin/hello", contents: Data("#!/bin/sh\necho \"hello from $0\"\n".utf8), attributes: [.posixPermissions: 0o755])
        let result = await StepExecutor.run(invocation(["bin/hello"], directory: directory))
        #expect(result.termination == .exited(0))
        // The kernel hands the script its resolved path.
        let output = String(decoding: result.stdout.bytes, as: UTF8.self)
        #expect(output.hasPrefix("hello from /") && output.hasSuffix("renkei-jobs-\(getpid())/bin/hello\n"), "got \(output)")
    }

    @Test func twoHundredMegabytesOfOutputKeepMemoryBoundedAndTheTailStored() async {
        let before = Self.peakResidentKiB()
        let pieces = Mutex(0)
        let result = await StepExecutor.run(invocation(["/bin/sh", "-c", "head -c 200000000 /dev/zero | tr '\\0' x; echo; echo END-OF-EXPORT"]), sink: { _, _ in
            pieces.withLock { $0 += 1 }
        })
        let after = Self.peakResidentKiB()
        #expect(result.termination == .exited(0))
        #expect(result.stdout.totalBytes == 200_000_000 + 1 + 14)
        #expect(result.stdout.bytes.count == OutputTail.defaultCapacity)
        #expect(String(decoding: result.stdout.bytes.suffix(14), as: UTF8.self) == "END-OF-EXPORT\n")
        // 200 MB split into 16 KiB pieces, then the marker line.
        #expect(pieces.withLock { $0 } == 200_000_000 / OutputLines.defaultMaximumLength + 2)
        #expect(after - before < 64 * 1024, "peak RSS grew by \(after - before) KiB while reading 200 MB")
    }

    static func peakResidentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}

@Suite struct LeftoverProcessesTests {
    @Test func processesAreFoundByTheirRunsWorkDirectoryEvenInAnotherSession() throws {
        let workDirectory = "/tmp/renkei-leftover-\(UUID().uuidString.prefix(8))/work/job/7"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["sleep", "30"]
        process.environment = ["RENKEI_WORK_DIR": workDirectory, "PATH": "/usr/bin:/bin"]
        try process.run()
        defer { kill(process.processIdentifier, SIGKILL) }
        // Until setsid has forked and its child is `sleep` (before that, setsid itself matches).
        var found: [Int32] = []
        func isSleep(_ pid: Int32) -> Bool {
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        }
        for _ in 0..<100 where !(found.count == 1 && isSleep(found[0])) {
            found = LeftoverProcesses.find(workDirectory: workDirectory)
            usleep(20_000)
        }
        // setsid forked: the sleep runs in a session of its own, orphaned, as after a crash.
        #expect(found.count == 1)
        defer { for pid in found { kill(pid, SIGKILL) } }
        #expect(LeftoverProcesses.find(workDirectory: workDirectory + "0").isEmpty, "another run's directory does not match")
        #expect(LeftoverProcesses.stop(workDirectory: workDirectory, grace: JobDuration(seconds: 2)) == found)
        var gone = false
        for _ in 0..<100 where !gone {
            gone = LeftoverProcesses.find(workDirectory: workDirectory).isEmpty
            usleep(20_000)
        }
        #expect(gone)
    }
}
