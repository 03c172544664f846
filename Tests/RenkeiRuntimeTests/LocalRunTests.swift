import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

@Suite(.serialized) struct LocalRunTests {
    @Test func aLocalRunIsRecordedWithItsStepsAndEnvironment() throws {
        let scratch = try Scratch()
        scratch.writeJob("link", """
            timezone: Asia/Tokyo
            environment: { OUT: "${RENKEI_WORK_DIR}/out.txt", API_TOKEN: hunter2 }
            steps:
              - name: export
                run: ["/bin/sh", "-c", "echo $RENKEI_LOGICAL_DATE $RENKEI_TRIGGER > \\"$OUT\\"; cat \\"$OUT\\""]
              - name: deliver
                run: ["/bin/sh", "-c", "echo target rejected record 3 >&2; exit 2"]
              - name: notify
                run: ["/bin/true"]
            """)
        let result = try execute(renkeictl, ["run", "link", "--local", "--jobs", scratch.jobs, "--state", scratch.state,
                                             "--logical-time", "2026-11-26 06:30", "--reason", "test"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("run 1 of link for 2026-11-26T06:30:00+09:00 started"))
        #expect(result.stdout.contains("run 1 of link failed"))
        #expect(result.stdout.contains("step deliver: exit status 2"))

        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let detail = try #require(try store.detail(runID: 1))
        #expect(detail.run.state == .failed)
        #expect(detail.run.errorClass == .exit)
        #expect(detail.run.trigger == .manual)
        #expect(detail.run.reason == "test")
        #expect(detail.run.logical.iso8601 == "2026-11-26T06:30:00+09:00")
        #expect(detail.run.definitionHash.count == 64)
        #expect(detail.run.environment.contains("\"API_TOKEN\":\"(redacted)\""))
        #expect(!detail.run.environment.contains("hunter2"))
        #expect(detail.steps.map(\.state) == [.succeeded, .failed, .notRun])
        #expect(String(decoding: detail.steps[0].stdoutTail, as: UTF8.self) == "2026-11-26 manual\n")
        #expect(String(decoding: detail.steps[1].stderrTail, as: UTF8.self) == "target rejected record 3\n")
        #expect(FileManager.default.fileExists(atPath: scratch.state + "/work/link/1/out.txt"))

        let show = try execute(renkeictl, ["show", "1", "--state", scratch.state, "--jobs", scratch.jobs])
        #expect(show.status == 0)
        #expect(show.stdout.contains("[exit] step deliver: exit status 2"))
        #expect(show.stdout.contains("| target rejected record 3"))
        let history = try execute(renkeictl, ["history", "link", "--state", scratch.state, "--json"])
        #expect(history.status == 0)
        #expect(history.stdout.contains("\"state\" : \"failed\""))
        #expect(try execute(renkeictl, ["show", "99", "--state", scratch.state]).status == 5)
        #expect(try execute(renkeictl, ["run", "nope", "--local", "--jobs", scratch.jobs, "--state", scratch.state]).status == 5)
    }

    @Test func aSecondConcurrentRunOfTheSameJobIsRefused() async throws {
        let scratch = try Scratch()
        scratch.writeJob("slow", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let state = StateDirectory(scratch.state)
        try state.prepare()
        let held = try RunLock.acquire(job: JobName("slow")!, state: state)
        #expect(throws: RunLock.Busy.self) { try RunLock.acquire(job: JobName("slow")!, state: state) }
        let result = try execute(renkeictl, ["run", "slow", "--local", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(result.status == 1)
        #expect(result.stderr.contains("slow is already running (lock \(scratch.state)/locks/slow.lock held by pid \(getpid()))"))
        withExtendedLifetime(held) {}
        // Released: the next run goes ahead.
        _ = consume held
        #expect(try execute(renkeictl, ["run", "slow", "--local", "--jobs", scratch.jobs, "--state", scratch.state]).status == 0)
    }

    @Test func killingRenkeictlMidStepLeavesARunTheNextOpenMarksInterrupted() async throws {
        let scratch = try Scratch()
        let marker = "renkei-kill9-\(UUID().uuidString.prefix(8))"
        // The step outlives any stall of a loaded machine's test threads (it is stopped below):
        // with 30 s, a test once found the step's pid only after the step had ended.
        scratch.writeJob("long", "steps:\n  - name: transfer\n    run: [\"/bin/sh\", \"-c\", \"sleep 600; : \(marker)\"]\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: renkeictl)
        process.arguments = ["run", "long", "--local", "--jobs", scratch.jobs, "--state", scratch.state]
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        let database = scratch.state + "/renkei.db"
        // Should the pid never show, renkeictl (still running) stops its step on SIGTERM.
        defer { if process.isRunning { process.terminate() } }
        let pid = try await Self.pidOfFirstStep(in: database)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        defer { kill(-pid, SIGKILL) }  // in case the assertion below fails
        #expect(kill(pid, 0) == 0, "the orphaned step still runs after renkeictl died")

        let before = try RunStore.openForReading(at: database).detail(runID: 1)
        #expect(before?.run.state == .running)

        let store = try StateDirectory(scratch.state).openStoreForWriting()
        let after = try #require(try store.detail(runID: 1))
        #expect(after.run.state == .interrupted)
        #expect(after.run.errorClass == .interrupted)
        #expect(after.run.failedStep == "transfer")
        #expect(after.run.errorMessage?.contains("stopped while the run was running") == true)
        #expect(after.steps[0].state == .interrupted)
        // The orphaned step was stopped by the recovery, so a rerun cannot race it.
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(-pid, 0) != 0 || Self.isZombie(pid)
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone, "the orphaned step's process group survived the recovery")
    }

    @Test func ctrlCCancelsTheRunStopsItsProcessesAndRecordsIt() async throws {
        let scratch = try Scratch()
        scratch.writeJob("long", "steps:\n  - name: transfer\n    run: [\"/bin/sh\", \"-c\", \"echo copying 1 of 2; sleep 30 & wait\"]\n  - name: after\n    run: [\"/bin/true\"]\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: renkeictl)
        process.arguments = ["run", "long", "--local", "--jobs", scratch.jobs, "--state", scratch.state]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = try await Self.pidOfFirstStep(in: scratch.state + "/renkei.db")
        defer { kill(-pid, SIGKILL) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        let detail = try #require(try RunStore.openForReading(at: scratch.state + "/renkei.db").detail(runID: 1))
        #expect(detail.run.state == .cancelled)
        #expect(detail.steps.map(\.state) == [.cancelled, .notRun])
        // What the step printed before it was cancelled is kept.
        #expect(String(decoding: detail.steps[0].stdoutTail, as: UTF8.self) == "copying 1 of 2\n")
        #expect(kill(-pid, 0) != 0 || Self.isZombie(pid), "the step's processes outlived the cancelled run")
    }

    /// Waits until run 1's first step has a recorded pid, and returns it.
    static func pidOfFirstStep(in database: String) async throws -> Int32 {
        for _ in 0..<200 {
            try await Task.sleep(for: .milliseconds(50))
            guard FileManager.default.fileExists(atPath: database) else { continue }
            if let pid = try? RunStore.openForReading(at: database).detail(runID: 1)?.steps.first?.pid { return pid }
        }
        throw CancellationError()
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    @Test func aLiveOwnersRunIsNotMarkedInterrupted() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        let job = Job(name: JobName("j")!, steps: [Step(name: "a", command: .argv(["/bin/true"]))], definitionHash: "h")
        let logical = LogicalTime(epochSeconds: 0, zoneIdentifier: "UTC")
        let mine = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: .current, at: Date())
        let dead = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual),
                                     owner: ProcessIdentity(bootID: ProcessIdentity.current.bootID, pid: 999_999, startTicks: 1), at: Date())
        let reopened = try state.openStoreForWriting()
        #expect(try reopened.detail(runID: mine.id!)?.run.state == .queued)
        #expect(try reopened.detail(runID: dead.id!)?.run.state == .interrupted)
    }
}
