import Foundation
import GRDB
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// `renkeictl purge` against a scratch store: the real binary, real runs, real directories.
@Suite(.serialized) struct RetentionTests {
    @Test func purgeClearsTailsAndWorkDirectoriesOfOldRunsAndKeepsTheRest() throws {
        let scratch = try Scratch()
        let outside = scratch.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("residents\n".utf8).write(to: URL(fileURLWithPath: outside + "/keep.csv"))
        // Default retention (1s from --retention below): purged. Its work directory holds a
        // symlink out of STATE/work, which must be removed, not followed.
        scratch.writeJob("old", """
            steps:
              - name: export
                run: ["/bin/sh", "-c", "echo taro; echo err >&2; mkdir -p sub; echo x > sub/f; ln -s \(outside) out; ln -s \(outside)/keep.csv file"]
            """)
        // Its own retention overrides the default: kept.
        scratch.writeJob("long", """
            retention: 30d
            steps:
              - name: export
                run: ["/bin/sh", "-c", "echo hanako"]
            """)
        // A failure nobody resolved: kept whatever its age.
        scratch.writeJob("broken", """
            steps:
              - name: export
                run: ["/bin/sh", "-c", "echo jiro; exit 3"]
            """)
        for job in ["old", "long", "broken"] {
            _ = try execute(renkeictl, ["run", job, "--local", "--jobs", scratch.jobs, "--state", scratch.state])
        }
        Thread.sleep(forTimeInterval: 2.1)
        let work = scratch.state + "/work"

        let dry = try execute(renkeictl, ["purge", "--dry-run", "--retention", "1s", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("would purge the output and work directories of 1 run(s) (old 1)"))
        #expect(dry.stdout.contains("would delete \(work)/old/1"))
        #expect(FileManager.default.fileExists(atPath: work + "/old/1/sub/f"))
        do {
            let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
            #expect(try store.purgedAt(runID: 1) == nil)
            #expect(try store.audit().count == 3)  // the three runs; a dry run writes nothing
            let detail = try #require(try store.detail(runID: 1))
            #expect(String(decoding: detail.steps[0].stdoutTail, as: UTF8.self) == "taro\n")
        }

        let real = try execute(renkeictl, ["purge", "--retention", "1s", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(real.status == 0)
        #expect(real.stdout.contains("purged the output and work directories of 1 run(s) (old 1)"))
        #expect(real.stdout.contains("deleted \(work)/old/1"))
        #expect(!FileManager.default.fileExists(atPath: work + "/old/1"))
        #expect(FileManager.default.fileExists(atPath: work + "/long/2"))
        #expect(FileManager.default.fileExists(atPath: work + "/broken/3"))
        // The symlinks' targets are untouched.
        #expect(try String(contentsOfFile: outside + "/keep.csv", encoding: .utf8) == "residents\n")

        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let purged = try #require(try store.detail(runID: 1))
        #expect(purged.run.state == .succeeded)
        #expect(purged.steps.map(\.state) == [.succeeded])
        #expect(purged.steps[0].stdoutTail.isEmpty && purged.steps[0].stderrTail.isEmpty)
        #expect(purged.steps[0].stdoutBytes == 5 && purged.steps[0].stderrBytes == 4)
        #expect(try store.purgedAt(runID: 1) != nil)
        let kept = try #require(try store.detail(runID: 2))
        #expect(String(decoding: kept.steps[0].stdoutTail, as: UTF8.self) == "hanako\n")
        #expect(try store.purgedAt(runID: 2) == nil)
        let failure = try #require(try store.detail(runID: 3))
        #expect(failure.run.state == .failed && failure.run.errorClass == .exit)
        #expect(String(decoding: failure.steps[0].stdoutTail, as: UTF8.self) == "jiro\n")
        #expect(try store.purgedAt(runID: 3) == nil)
        // The purge is one more audit row, and the chain still holds.
        let audit = try store.audit()
        #expect(audit.count == 4)
        #expect(audit.last?.result == "purged the output and work directories of 1 run(s) (old 1)")
        #expect(try store.verifyAudit() == nil)

        let show = try execute(renkeictl, ["show", "1", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(show.stdout.contains("output and work directory purged on "))
        let showKept = try execute(renkeictl, ["show", "2", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(!showKept.stdout.contains("purged on"))

        // Nothing is purged twice.
        let again = try execute(renkeictl, ["purge", "--retention", "1s", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(again.stdout.contains("purged nothing"))
    }

    /// renkeid's own daily purge, at `--purge-at` (set to a minute from now): audited and logged;
    /// the failure nobody resolved is kept, and purged by the next purge once a rerun resolved it.
    @Test func renkeidPurgesDailyAtItsHourAndKeepsWhatIsUnresolved() throws {
        let scratch = try Scratch()
        let flag = scratch.root + "/fixed"
        scratch.writeJob("old", "steps:\n  - name: export\n    run: [\"/bin/sh\", \"-c\", \"echo taro\"]\n")
        scratch.writeJob("broken", "steps:\n  - name: export\n    run: [\"/bin/sh\", \"-c\", \"echo jiro; test -e \(flag)\"]\n")
        // The next whole minute at least 20 s away, in the machine's zone as renkeid reads it.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: MachineTimeZone.identifier) ?? .current
        let at = calendar.nextDate(after: Date().addingTimeInterval(20), matching: DateComponents(second: 0), matchingPolicy: .nextTime)!
        let purgeAt = String(format: "%02d:%02d", calendar.component(.hour, from: at), calendar.component(.minute, from: at))
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--retention", "1s", "--purge-at", purgeAt])
        defer { daemon.stop() }
        #expect(try control.ctl(["run", "old", "--wait"]).status == 0)
        #expect(try control.ctl(["run", "broken", "--wait"]).status == 1)
        #expect(eventually(seconds: 100) { daemon.log.contains("purged the output and work directories of 1 run(s) (old 1)") }, "at \(purgeAt): \(daemon.log)")
        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        #expect(try store.purgedAt(runID: 1) != nil)
        #expect(try store.purgedAt(runID: 2) == nil, "an unresolved failure is kept")
        #expect(!FileManager.default.fileExists(atPath: scratch.state + "/work/old/1"))
        #expect(FileManager.default.fileExists(atPath: scratch.state + "/work/broken/2"))
        #expect(try store.audit().contains { $0.user == "renkeid" && $0.result.hasPrefix("purged the output and work directories of 1 run(s)") })

        // Resolved by a rerun that succeeds: the next purge takes the failure too.
        FileManager.default.createFile(atPath: flag, contents: nil)
        #expect(try control.ctl(["rerun", "2", "--wait", "--reason", "flag created"]).status == 0)
        Thread.sleep(forTimeInterval: 1.1)
        let purged = try execute(renkeictl, ["purge", "--retention", "1s", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(purged.stdout.contains("purged the output and work directories of 2 run(s) (broken 2)"), "\(purged.stdout)\(purged.stderr)")
        #expect(try store.purgedAt(runID: 2) != nil)
    }

    @Test func aWorkDirectoryReachedThroughASymlinkIsLeftAlone() throws {
        let scratch = try Scratch()
        let outside = scratch.root + "/elsewhere/1"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("keep\n".utf8).write(to: URL(fileURLWithPath: outside + "/data"))
        let work = scratch.state + "/work"
        #expect(WorkDirectoryRemoval.refusal(work + "/job/1", under: work) == nil)  // gone already: nothing to refuse
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: work + "/job", withDestinationPath: scratch.root + "/elsewhere")
        #expect(WorkDirectoryRemoval.refusal(work + "/job/1", under: work)?.contains("symbolic link") == true)
        #expect(WorkDirectoryRemoval.refusal(work + "/../elsewhere/1", under: work) == "not below \(work)")
        #expect(WorkDirectoryRemoval.refusal(scratch.root + "/elsewhere/1", under: work) == "not below \(work)")
        #expect(FileManager.default.fileExists(atPath: outside + "/data"))
    }

    @Test func retentionIsAPositiveDuration() throws {
        let steps = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n"
        let parsed = try JobFileParser.parse(file: "j.yaml", name: "j", bytes: Array(("retention: 30d\n" + steps).utf8)).get()
        #expect(parsed.retention == JobDuration(seconds: 30 * 86_400))
        #expect(try JobFileParser.parse(file: "j.yaml", name: "j", bytes: Array(steps.utf8)).get().retention == nil)
        guard case .failure(let zero) = JobFileParser.parse(file: "j.yaml", name: "j", bytes: Array(("retention: 0s\n" + steps).utf8)) else {
            Issue.record("retention: 0s was accepted")
            return
        }
        #expect(zero.problems.first?.message.contains("'retention' is 0s") == true)
    }
    @Test func aVersion8StoreGainsPurgedAtWithItsRunsUnpurged() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.state, withIntermediateDirectories: true)
        let path = scratch.state + "/renkei.db"
        let old = try DatabasePool(path: path)
        try Migrations.migrator.migrate(old, upTo: "v8: holds")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, started_at, finished_at)
                VALUES ('juki', 1795987800, 'Asia/Tokyo', 'schedule', 1, 'succeeded', 'h', '{}', '{}', '2020-11-30 21:30:00.000', '2020-11-30 21:30:00.000', '2020-11-30 21:31:00.000')
                """)
        }
        try old.close()
        let store = try RunStore.openForWriting(at: path)
        #expect(try store.purgedAt(runID: 1) == nil)
        #expect(try store.purgeableRuns(defaultCutoff: Date(), cutoffs: [:]).map(\.id) == [1])
        #expect(try store.purgeableRuns(defaultCutoff: Date(), cutoffs: ["juki": .distantPast]).isEmpty)
    }
}
