import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// File-arrival triggers with a real renkeid: files dropped into a real directory start runs of
/// the job that watches it, exactly once per content, whether renkeid was running or stopped.
@Suite(.serialized) struct TriggerDaemonTests {
    func runs(_ scratch: Scratch) -> [RunRecord] { ((try? allRuns(scratch)) ?? []).filter { $0.job == "kokuho" } }

    func write(_ path: String, _ text: String) {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    @Test func aFileStartsOneRunWithItsPathAndDateWhetherRenkeidRunsOrNot() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        let outbox = scratch.root + "/outbox"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let seen = scratch.root + "/seen.log"
        scratch.writeJob("kokuho", """
            trigger:
              path: \(outbox)
              file: "shikaku_*.csv"
              date_from_name: "shikaku_{date:%Y%m%d}.csv"
              complete_when: done_file
              done_file: "shikaku_{date:%Y%m%d}.done"
            steps:
              - name: take
                run: ["/bin/sh", "-c", "echo \\"$RENKEI_TRIGGER_FILE $RENKEI_LOGICAL_DATE $RENKEI_TRIGGER\\" >> \(seen)"]
            """)
        var daemon = try control.daemon()
        #expect(eventually { daemon.log.contains("renkeid ready") })
        // While running: the data file alone starts nothing; its done file does.
        write(outbox + "/shikaku_20261130.csv", "a,b\n1,2\n")
        sleep(1)
        #expect(runs(scratch).isEmpty, "a file without its done file is not complete")
        write(outbox + "/shikaku_20261130.done", "")
        #expect(eventually(seconds: 15) { runs(scratch).contains { $0.state == .succeeded } })
        let first = try #require(runs(scratch).first)
        #expect(first.trigger == .file)
        #expect(first.logical.iso8601.hasPrefix("2026-11-30T00:00:00"), "\(first.logical.iso8601)")
        #expect((try? String(contentsOfFile: seen, encoding: .utf8)) == "\(outbox)/shikaku_20261130.csv 2026-11-30 file\n")
        // The same content under a second name starts nothing.
        write(outbox + "/shikaku_20261201.csv", "a,b\n1,2\n")
        write(outbox + "/shikaku_20261201.done", "")
        sleep(2)
        #expect(runs(scratch).count == 1)
        #expect(daemon.log.contains("holds the same content as \(outbox)/shikaku_20261130.csv"), "\(daemon.log)")

        // While stopped: the file is taken at the next start, once.
        daemon.stop()
        write(outbox + "/shikaku_20261202.csv", "a,b\n3,4\n")
        write(outbox + "/shikaku_20261202.done", "")
        daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(eventually(seconds: 15) { runs(scratch).filter { $0.state == .succeeded }.count == 2 })
        // And a restart after that takes nothing again.
        daemon.stop()
        daemon = try control.daemon()
        sleep(2)
        #expect(runs(scratch).count == 2)
        let show = try control.ctl(["show", String(try #require(runs(scratch).last?.id))])
        #expect(show.stdout.contains("trigger file  \(outbox)/shikaku_20261202.csv"), "\(show.stdout)")
    }

    @Test func aBurstOfAThousandFilesStartsAThousandRunsEachOnce() throws {
        let scratch = try Scratch()
        let control = Control(scratch: scratch)
        let outbox = scratch.root + "/outbox"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        scratch.writeJob("kokuho", """
            trigger: { path: \(outbox), file: "*.csv", stable_for: 1s }
            overlap: skip
            steps:
              - name: take
                run: ["/bin/true"]
            """)
        let daemon = try control.daemon(["--max-concurrent", "16"])
        defer { daemon.stop() }
        #expect(eventually { daemon.log.contains("renkeid ready") })
        for index in 0..<1000 { write(outbox + "/f\(index).csv", "content \(index)\n") }
        #expect(eventually(seconds: 240) { runs(scratch).filter { $0.state.isFinal }.count >= 1000 }, "\(runs(scratch).count) runs")
        sleep(2)
        let all = runs(scratch)
        #expect(all.count == 1000)
        #expect(all.allSatisfy { $0.state == .succeeded && $0.trigger == .file })
        let files = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let attached = try files.triggerFiles(job: "kokuho")
        #expect(Set(attached.compactMap(\.runId)).count == 1000, "each file tied to its own run")
    }
}
