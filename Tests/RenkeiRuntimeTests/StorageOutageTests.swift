import Foundation
import Glibc
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// A real renkeid whose state directory is a small tmpfs that the test fills up and then frees:
/// the disk full as an operator meets it (mounting needs root; `make test` runs as root).
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct StorageOutageTests {
    /// Fills the file system of `directory` with one file; returns its path.
    func fill(_ directory: String) -> String {
        let path = directory + "/filler"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let chunk = [UInt8](repeating: 0x55, count: 16_384)
        while write(descriptor, chunk, chunk.count) > 0 {}
        close(descriptor)
        return path
    }

    @Test func aFullDiskIsAStateTheDaemonComesBackFrom() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        mkdir(scratch.state, 0o750)
        let mounted = try execute("/bin/mount", ["-t", "tmpfs", "-o", "size=3m,mode=0750", "tmpfs", scratch.state])
        try #require(mounted.status == 0, "cannot mount a tmpfs at \(scratch.state) although root: \(mounted.stderr)")
        defer { _ = try? execute("/bin/umount", ["-l", scratch.state]) }
        scratch.writeJob("tick", "schedule: \"*:*:*\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        scratch.writeJob("slow", "steps:\n  - name: wait\n    run: [\"/bin/sleep\", \"5\"]\n")
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(eventually(seconds: 20) { ((try? allRuns(scratch)) ?? []).filter { $0.job == "tick" && $0.state == .succeeded }.count >= 2 })

        // An operator waits for a run that will end while the disk is full.
        let waiter = Process()
        waiter.executableURL = URL(fileURLWithPath: renkeictl)
        waiter.arguments = ["run", "slow", "--wait"]
        var environment = ProcessInfo.processInfo.environment
        environment["RENKEI_SOCKET"] = control.socket
        waiter.environment = environment
        let waiterOutput = Pipe()
        waiter.standardOutput = waiterOutput
        waiter.standardError = waiterOutput
        try waiter.run()
        #expect(eventually(seconds: 20) { ((try? allRuns(scratch)) ?? []).contains { $0.job == "slow" && $0.state == .running } })
        let slowID = try #require(try allRuns(scratch).first { $0.job == "slow" }?.id)

        let filler = fill(scratch.state)
        #expect(eventually(seconds: 30) { daemon.log.contains("cannot be written: no space left on its file system") }, "\(daemon.log)")
        let status = try control.ctl(["status"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("STORAGE FAILING"), "\(status.stdout)")
        #expect(status.stdout.contains("no space left"), "\(status.stdout)")

        // --wait ends although the run's end cannot be recorded, and says why.
        let end = Date().addingTimeInterval(30)
        while waiter.isRunning && Date() < end { usleep(100_000) }
        #expect(!waiter.isRunning, "renkeictl run --wait did not end while the store could not be written")
        if waiter.isRunning { waiter.terminate() }
        waiter.waitUntilExit()
        let said = String(decoding: waiterOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(waiter.terminationStatus == 1, "\(said)")
        #expect(said.contains("cannot be written"), "\(said)")
        #expect(daemon.process.isRunning)

        // Slots pass during the outage; then space comes back.
        sleep(3)
        let outageEnded = Date()
        unlink(filler)
        #expect(eventually(seconds: 60) { daemon.log.contains("can be written again") }, "\(daemon.log)")
        #expect(daemon.process.isRunning, "renkeid exited during the outage")

        // The operator's run is closed: with its real outcome, or `storage`.
        #expect(eventually(seconds: 20) { ((try? allRuns(scratch)) ?? []).first { $0.id == slowID }?.state.isFinal == true })
        let slow = try #require(try allRuns(scratch).first { $0.id == slowID })
        #expect(slow.state == .succeeded || slow.errorClass == .storage, "\(slow)")

        // Every slot of tick has exactly one row, with no gap across the outage, and the slots the
        // outage took are recorded as such.
        #expect(eventually(seconds: 20) { ((try? allRuns(scratch)) ?? []).contains { $0.job == "tick" && $0.state == .succeeded && $0.queuedAt > outageEnded } })
        let ticks = try allRuns(scratch).filter { $0.job == "tick" && ($0.trigger == .schedule || $0.trigger == .catchUp) }
        let times = ticks.map(\.logicalTime).sorted()
        #expect(Set(times).count == times.count, "a slot with two rows")
        let first = try #require(times.first), last = try #require(times.last)
        #expect(times.count == Int(last - first) + 1, "slots without a row between \(first) and \(last): \(Set(first...last).subtracting(times).sorted())")
        #expect(ticks.contains { $0.state == .missed && $0.errorClass == .storage }, "\(ticks.map { "\($0.logicalTime) \($0.state) \($0.errorClass?.rawValue ?? "")" })")
        // No row is left running by the live daemon (but the one tick that may be running now).
        let stuck = try allRuns(scratch).filter { !$0.state.isFinal && $0.queuedAt < outageEnded }
        #expect(stuck.isEmpty, "\(stuck)")
        let after = try control.ctl(["status"])
        #expect(!after.stdout.contains("STORAGE FAILING"), "\(after.stdout)")
    }
}
