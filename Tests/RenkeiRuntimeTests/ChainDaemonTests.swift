import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// Link chains as an operator meets them: a real renkeid, real job files with `after:`, real
/// runs, renkeictl over the real socket, and the rows in the store.
@Suite(.serialized) struct ChainDaemonTests {


    func runs(_ scratch: Scratch, _ job: String) -> [RunRecord] { ((try? allRuns(scratch)) ?? []).filter { $0.job == job } }

    @Test func aDownstreamWaitsOnRecordStartsWhenItsUpstreamsSucceedAndSurvivesARestart() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        // export: run by hand. import: no schedule, after export. stats: every 2 s, after import.
        scratch.writeJob("export", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        scratch.writeJob("import", "after: [export]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        scratch.writeJob("stats", "schedule: \"*:*:0/2\"\nafter: [import]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        var daemon = try control.daemon()
        // stats's slot waits for import, on record.
        #expect(eventually(seconds: 15) { runs(scratch, "stats").contains { $0.state == .waiting } })
        let waiting = try #require(runs(scratch, "stats").first { $0.state == .waiting })
        #expect(waiting.errorMessage?.hasPrefix("waiting for import to succeed for ") == true, "\(waiting.errorMessage ?? "")")
        let status = try control.ctl(["status"])
        #expect(status.stdout.contains("waiting: run \(waiting.id!) stats"), "\(status.stdout)")
        #expect(status.stdout.contains("1 waiting for upstreams"), "\(status.stdout)")
        // Later slots of the same date do not pile up: one wait per date, the others skipped.
        #expect(eventually(seconds: 10) { runs(scratch, "stats").contains { $0.state == .skipped } })
        #expect(runs(scratch, "stats").filter { $0.state == .waiting }.count == 1)

        // A restart keeps the wait.
        daemon.stop()
        #expect(try allRuns(scratch).first { $0.id == waiting.id }?.state == .waiting)
        daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(eventually { (try? control.ctl(["status"]).stdout.contains("waiting: run \(waiting.id!) stats")) == true })

        // export runs by hand; import follows with trigger after; stats's waiting run starts with its row.
        #expect(try control.ctl(["run", "export", "--wait"]).status == 0)
        #expect(eventually(seconds: 15) { runs(scratch, "import").contains { $0.state == .succeeded && $0.trigger == .after } })
        #expect(eventually(seconds: 15) { (try? allRuns(scratch))?.first { $0.id == waiting.id }?.state == .succeeded })
        let started = try #require(try allRuns(scratch).first { $0.id == waiting.id })
        #expect(started.errorMessage == nil)
        #expect(runs(scratch, "import").count == 1, "import runs once a date")
        #expect(daemon.log.contains("stats: its upstreams (import) all succeeded for "), "\(daemon.log)")
    }

    @Test func anUpstreamThatFailsMakesTheDownstreamFailWithUpstreamAfterItsWait() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        scratch.writeJob("export", "steps:\n  - name: a\n    run: [\"/bin/false\"]\n")
        scratch.writeJob("import", "schedule: \"*:*:0/5\"\nafter: [export]\nafter_wait: 3s\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(eventually(seconds: 15) { runs(scratch, "import").contains { $0.state == .waiting } })
        #expect(try control.ctl(["run", "export", "--wait"]).status == 1)
        let exportRun = try #require(runs(scratch, "export").first?.id)
        #expect(eventually(seconds: 15) { runs(scratch, "import").contains { $0.state == .failed } })
        let failed = try #require(runs(scratch, "import").first { $0.state == .failed })
        #expect(failed.errorClass == .upstream)
        #expect(failed.errorMessage?.contains("export failed (run \(exportRun); renkeictl show \(exportRun))") == true, "\(failed.errorMessage ?? "")")
        #expect(daemon.log.contains("run \(failed.id!) failed: upstream not done for "), "\(daemon.log)")
    }

    @Test func holdSkipsTheSlotsUntilReleaseAndIsAudited() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        scratch.writeJob("tick", "schedule: \"*:*:*\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(try control.ctl(["hold", "tick"]).status == 2, "--reason is required")
        let held = try control.ctl(["hold", "tick", "--reason", "ticket 4411"])
        #expect(held.status == 0, "\(held.stderr)")
        #expect(held.stdout.contains("tick is held by "), "\(held.stdout)")
        #expect(eventually(seconds: 10) { runs(scratch, "tick").contains { $0.state == .skipped && $0.errorMessage?.hasSuffix(": ticket 4411") == true } })
        #expect(try control.ctl(["status"]).stdout.contains("held: tick, held by "))
        let released = try control.ctl(["release", "tick", "--reason", "done"])
        #expect(released.status == 0, "\(released.stderr)")
        let releasedAt = Date()
        #expect(eventually(seconds: 10) { runs(scratch, "tick").contains { $0.state == .succeeded && $0.queuedAt > releasedAt } })
        #expect(try control.ctl(["release", "tick"]).status == 2, "not held any more")
        let audit = try control.ctl(["audit"])
        #expect(audit.stdout.contains("ticket 4411"), "\(audit.stdout)")
        // Held until a time: released by itself.
        let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3))
        #expect(try control.ctl(["hold", "tick", "--until", until, "--reason", "short"]).status == 0)
        #expect(eventually(seconds: 15) { daemon.log.contains("its hold by ") })
    }

    @Test func rerunDownstreamPlansThenRerunsInDependencyOrderAndFromNextSkipsTheFailedStep() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        // export fails once (a marker file), then works; import and stats depend on it.
        let marker = scratch.root + "/fixed"
        scratch.writeJob("export", "steps:\n  - name: a\n    run: [\"/bin/sh\", \"-c\", \"test -e \(marker)\"]\n  - name: b\n    run: [\"/bin/true\"]\n")
        scratch.writeJob("import", "after: [export]\nsteps:\n  - name: a\n    run: [\"/bin/sleep\", \"1\"]\n")
        scratch.writeJob("stats", "after: [import]\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(try control.ctl(["run", "export", "--wait"]).status == 1)
        let failed = try #require(runs(scratch, "export").first)

        // The plan changes nothing.
        let plan = try control.ctl(["rerun", String(failed.id!), "--downstream"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("3 run(s) for "), "\(plan.stdout)")
        let lines = plan.stdout.split(separator: "\n").map(String.init)
        let order = ["export", "import", "stats"].map { job in lines.firstIndex { $0.contains(" \(job) ") } ?? -1 }
        #expect(order == order.sorted() && !order.contains(-1), "\(plan.stdout)")
        #expect(runs(scratch, "import").isEmpty)

        // Carried out: each downstream after its upstream's rerun succeeded.
        FileManager.default.createFile(atPath: marker, contents: nil)
        let done = try control.ctl(["rerun", String(failed.id!), "--downstream", "--yes", "--reason", "corrected export"])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(eventually(seconds: 20) { runs(scratch, "stats").contains { $0.state == .succeeded } })
        let rerun = try #require(runs(scratch, "export").first { $0.trigger == .rerun })
        let imported = try #require(runs(scratch, "import").first)
        let stats = try #require(runs(scratch, "stats").first)
        #expect(rerun.state == .succeeded && imported.state == .succeeded)
        #expect(try #require(imported.startedAt) >= (try #require(rerun.finishedAt)))
        #expect(try #require(stats.startedAt) >= (try #require(imported.finishedAt)))
        #expect(try control.ctl(["audit"]).stdout.contains("corrected export"))

        // --from-next: the failed step done by hand, recorded so, the next one runs.
        try FileManager.default.removeItem(atPath: marker)
        #expect(try control.ctl(["run", "export", "--wait"]).status == 1)
        let again = try #require(runs(scratch, "export").last { $0.state == .failed })
        #expect(try control.ctl(["rerun", String(again.id!), "--from-next"]).status == 2, "--reason is required")
        let next = try control.ctl(["rerun", String(again.id!), "--from-next", "--reason", "sent by hand", "--wait"])
        #expect(next.status == 0, "\(next.stdout) \(next.stderr)")
        let fromNext = try #require(runs(scratch, "export").last)
        let detail = try #require(try RunStore.openForReading(at: scratch.state + "/renkei.db").detail(runID: fromNext.id!))
        #expect(detail.steps.map(\.state) == [.skippedByOperator, .succeeded])
    }
}
