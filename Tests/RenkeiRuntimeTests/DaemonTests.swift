import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// The real renkeid binary, on scratch directories, with second-level schedules.
@Suite(.serialized) struct DaemonTests {
    @Test func slotsRunOnTimeAndAStopIsClean() throws {
        let scratch = try Scratch()
        scratch.writeJob("tick", "schedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let daemon = try DaemonProcess(scratch)
        #expect(try eventually { try allRuns(scratch).filter { $0.state == .succeeded }.count >= 3 })
        daemon.stop()
        #expect(daemon.process.terminationStatus == 0, "\(daemon.log)")
        let runs = try allRuns(scratch).filter { $0.state == .succeeded }
        for run in runs {
            #expect(run.trigger == .schedule)
            #expect(run.logicalTime % 2 == 0)
            let lateness = run.startedAt!.timeIntervalSince1970 - Double(run.logicalTime)
            #expect(lateness >= 0 && lateness < 5, "run \(run.id!) started \(lateness)s after its slot")
        }
        #expect(daemon.log.contains("renkeid ready: 1 jobs"))
    }

    @Test func killDashNineAndARestartLeaveEveryRunAccountedForAndNoOrphan() throws {
        let scratch = try Scratch()
        let marker = "renkei-crash-\(UUID().uuidString.prefix(8))"
        scratch.writeJob("long", """
            schedule: "*:*:0/2"
            overlap: skip
            catch_up: none
            retry: { limit: 1, delay: 1s }
            steps:
              - name: transfer
                run: ["/bin/sh", "-c", "[ -e \(scratch.root)/crashed-once ] && exit 0; touch \(scratch.root)/crashed-once; sleep 30; : \(marker)"]
            """)
        let first = try DaemonProcess(scratch, log: "first.log")
        #expect(eventually { !livingProcesses(containing: marker).isEmpty })
        // The shell's fork shows the shell's argv (the marker) until it execs sleep: wait for a
        // set of processes that holds still (a snapshot once caught the fork, gone a moment later).
        var orphans = livingProcesses(containing: marker)
        for _ in 0..<25 {
            usleep(200_000)
            let again = livingProcesses(containing: marker)
            if again == orphans { break }
            orphans = again
        }
        first.signal(SIGKILL)
        first.waitForExit()
        #expect(livingProcesses(containing: marker) == orphans, "the step outlives a kill -9 of its daemon until recovery")
        sleep(3)  // slots pass while no daemon runs

        let second = try DaemonProcess(scratch, arguments: ["--shutdown-grace", "0"], log: "second.log")
        #expect(try eventually { try allRuns(scratch).contains { $0.trigger == .retry && $0.state == .succeeded } }, "\(first.log)\n---\n\(second.log)")
        #expect(livingProcesses(containing: marker).allSatisfy { !orphans.contains($0) }, "recovery stops the crashed daemon's children")
        second.stop()
        #expect(second.process.terminationStatus == 0)

        let runs = try allRuns(scratch)
        let crashed = try #require(runs.first { $0.trigger == .schedule && $0.startedAt != nil })
        #expect(crashed.state == .interrupted)
        #expect(crashed.errorClass == .interrupted)
        let retry = try #require(runs.first { $0.trigger == .retry })
        #expect(retry.attempt == 2)
        #expect(retry.retryOf == crashed.id)
        #expect(retry.logicalTime == crashed.logicalTime)
        #expect(retry.state == .succeeded)
        #expect(runs.contains { $0.state == .missed && $0.logicalTime > crashed.logicalTime }, "slots while no daemon ran are recorded missed")
        #expect(runs.allSatisfy { $0.state.isFinal })
        #expect(livingProcesses(containing: marker).isEmpty, "no orphan process is left")
    }

    @Test func sigtermDuringALongRunRecordsItInterruptedAndLeavesNoChild() throws {
        let scratch = try Scratch()
        let marker = "renkei-term-\(UUID().uuidString.prefix(8))"
        scratch.writeJob("long", "schedule: \"*:*:0/2\"\nsteps:\n  - name: transfer\n    run: [\"/bin/sh\", \"-c\", \"sleep 30 & wait; : \(marker)\"]\n")
        let daemon = try DaemonProcess(scratch, arguments: ["--shutdown-grace", "1"])
        #expect(try eventually { try allRuns(scratch).contains { $0.state == .running } })
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(seconds: 15))
        #expect(daemon.process.terminationStatus == 0)
        let run = try #require(try allRuns(scratch).first { $0.startedAt != nil })
        #expect(run.state == .interrupted)
        #expect(run.errorMessage?.contains("renkeid was stopped") == true)
        #expect(livingProcesses(containing: marker).isEmpty)
        #expect(daemon.log.contains("recorded interrupted"))
    }

    @Test func sighupWithABrokenFileKeepsTheOldDefinition() throws {
        let scratch = try Scratch()
        let path = scratch.writeJob("tick", "schedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let daemon = try DaemonProcess(scratch)
        #expect(try eventually { try allRuns(scratch).count >= 1 })
        scratch.writeJob("tick", "timeuot: 5m\nschedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        daemon.signal(SIGHUP)
        #expect(eventually { daemon.log.contains("keeping the previous definition") })
        let countAfterReload = try allRuns(scratch).count
        #expect(try eventually { try allRuns(scratch).count >= countAfterReload + 2 }, "the old definition keeps running")
        daemon.stop()
        #expect(daemon.log.contains("\(path):1:1: error: unknown key 'timeuot'"))
    }

    @Test func aJobLockedByALocalRunHasItsSlotsRecordedSkipped() throws {
        let scratch = try Scratch()
        scratch.writeJob("tick", "schedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let state = StateDirectory(scratch.state)
        try state.prepare()
        let lock = try RunLock.acquire(job: JobName("tick")!, state: state)
        let daemon = try DaemonProcess(scratch)
        #expect(try eventually { try allRuns(scratch).contains { $0.state == .skipped } })
        daemon.stop()
        withExtendedLifetime(lock) {}
        let skipped = try #require(try allRuns(scratch).first { $0.state == .skipped })
        #expect(skipped.errorMessage?.contains("holds the job's lock (pid \(getpid())") == true)
        #expect(try allRuns(scratch).allSatisfy { $0.state == .skipped })
    }

    @Test func aRestartCatchesUpTheNewestMissedSlot() throws {
        let scratch = try Scratch()
        scratch.writeJob("tick", "schedule: \"*:*:0/2\"\ncatch_up: latest\ncatch_up_window: 1h\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let first = try DaemonProcess(scratch, log: "first.log")
        #expect(try eventually { try allRuns(scratch).contains { $0.state == .succeeded } })
        first.stop()
        let lastBefore = try allRuns(scratch).map(\.logicalTime).max()!
        sleep(5)
        let second = try DaemonProcess(scratch, log: "second.log")
        #expect(try eventually { try allRuns(scratch).contains { $0.trigger == .catchUp } }, "\(second.log)")
        second.stop()
        let during = try allRuns(scratch).filter { $0.logicalTime > lastBefore && $0.trigger != .schedule || ($0.state == .missed) }
        let caughtUp = try #require(during.first { $0.trigger == .catchUp })
        let missed = during.filter { $0.state == .missed }
        #expect(!missed.isEmpty)
        #expect(missed.allSatisfy { $0.logicalTime < caughtUp.logicalTime }, "only the newest missed slot runs")
        #expect(second.log.contains("passed while renkeid was not running"))
    }

    /// The run store deleted or replaced under a running daemon: it writes nothing more into the
    /// file nobody will read, says why, and stops with a non-zero status (systemd restarts it).
    @Test(arguments: ["deleted", "replaced"])
    func aStoreDeletedOrReplacedUnderTheDaemonStopsIt(how: String) throws {
        let scratch = try Scratch()
        scratch.writeJob("tick", "schedule: \"*:*:*\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let daemon = try DaemonProcess(scratch)
        #expect(try eventually { try allRuns(scratch).filter { $0.state == .succeeded }.count >= 2 })
        let database = scratch.state + "/renkei.db"
        // Keep the original file open to count its rows after the daemon let go of it.
        let original = scratch.root + "/original.db"
        #expect(link(database, original) == 0)
        if how == "deleted" {
            for suffix in ["", "-wal", "-shm"] { unlink(database + suffix) }
        } else {
            let other = try RunStore.openForWriting(at: scratch.root + "/other.db")
            other.close()
            #expect(rename(scratch.root + "/other.db", database) == 0)
        }
        #expect(daemon.waitForExit(seconds: 20), "renkeid kept running on a \(how) store")
        #expect(daemon.process.terminationStatus == 1)
        #expect(daemon.log.contains(how == "deleted" ? "deleted" : "another file has been put at its path"), "\(daemon.log)")
        #expect(daemon.log.contains("renkeid stops so that it is started again"))
        // Nothing was written into the old file after it stopped being the store.
        let before = try RunStore.openForReading(at: original).history(limit: 1000).count
        sleep(2)
        #expect(try RunStore.openForReading(at: original).history(limit: 1000).count == before)
    }

    @Test func twoDaemonsCannotShareAStateDirectory() throws {
        let scratch = try Scratch()
        scratch.writeJob("tick", "schedule: daily\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let first = try DaemonProcess(scratch, log: "first.log")
        #expect(eventually { first.log.contains("renkeid ready") })
        let second = try DaemonProcess(scratch, log: "second.log")
        #expect(second.waitForExit(seconds: 10))
        #expect(second.process.terminationStatus == 1)
        #expect(second.log.contains("another renkeid (pid \(first.process.processIdentifier)) already uses this state directory"))
        first.stop()
    }

    @Test func systemdHearsReadyStatusWatchdogReloadingAndStopping() throws {
        let scratch = try Scratch()
        scratch.writeJob("tick", "schedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let socket = try FakeNotifySocket(path: scratch.root + "/notify.sock")
        let daemon = try DaemonProcess(scratch, environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000"])
        var messages = socket.receive(for: 3)
        daemon.signal(SIGHUP)
        messages += socket.receive(for: 1.5)
        daemon.signal(SIGTERM)
        messages += socket.receive(for: 1.5)
        daemon.stop()
        let ready = try #require(messages.firstIndex { $0.hasPrefix("READY=1") })
        #expect(messages[ready].contains("STATUS=0 running, 0 queued; next: tick at "))
        #expect(messages.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("STATUS=") && $0.contains("running") })
        let reloading = try #require(messages.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") })
        #expect(messages[(reloading + 1)...].contains { $0.hasPrefix("READY=1") })
        #expect(messages.last { $0.hasPrefix("STOPPING=1") } != nil)
    }
}
