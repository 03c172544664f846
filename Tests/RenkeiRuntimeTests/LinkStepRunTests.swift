import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// Built-in steps inside real runs: `renkeictl run --local` and `rerun --local` start the real
/// `renkeictl link-step` process for each, against real directories, and record what they did.
@Suite(.serialized) struct LinkStepRunTests {
    /// A source and a target system's directories beside the jobs and state.
    final class Systems {
        let scratch: Scratch
        var outbox: String { scratch.root + "/outbox" }
        var inbox: String { scratch.root + "/inbox" }

        init() throws {
            scratch = try Scratch()
            try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        }

        func put(_ name: String, _ content: String, in directory: String? = nil) {
            FileManager.default.createFile(atPath: (directory ?? outbox) + "/" + name, contents: Data(content.utf8))
        }

        func read(_ path: String) -> String? {
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        }

        func run(_ arguments: [String]) throws -> Finished {
            try execute(renkeictl, arguments + ["--jobs", scratch.jobs, "--state", scratch.state])
        }

        func store() throws -> RunStore { try RunStore.openForReading(at: scratch.state + "/renkei.db") }
    }

    static func linkJob(_ systems: Systems, waitUntil: String = "2s", ifExists: String = "fail") -> String {
        """
        timezone: Asia/Tokyo
        environment: { OUTBOX: "\(systems.outbox)", INBOX: "\(systems.inbox)" }
        steps:
          - name: receive
            receive:
              from: "${OUTBOX}"
              file: "IDO_{date:%Y%m%d}.csv"
              complete_when: done_file
              done_file: "IDO_{date:%Y%m%d}.end"
              wait_until: \(waitUntil)
          - name: transform
            run: ["/bin/sh", "-c", "mkdir -p out && cat in/IDO_*.csv | tr a-z A-Z > out/IDO.csv"]
          - name: deliver
            deliver:
              file: out/IDO.csv
              to: "${INBOX}"
              as: "IDO_{date:%Y%m%d}.csv"
              done_file: "IDO_{date:%Y%m%d}.end"
              if_exists: \(ifExists)
        """
    }

    @Test func aLinkReceivesAndDeliversAndRecordsBothFiles() throws {
        let systems = try Systems()
        systems.scratch.writeJob("link", Self.linkJob(systems))
        systems.put("IDO_20261201.csv", "yamada,tenyu\n")
        systems.put("IDO_20261201.end", "")
        let result = try systems.run(["run", "link", "--local", "--logical-time", "2026-12-01 06:30"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(systems.read(systems.inbox + "/IDO_20261201.csv") == "YAMADA,TENYU\n")
        #expect(FileManager.default.fileExists(atPath: systems.inbox + "/IDO_20261201.end"))
        // copy, not move: the source stays
        #expect(FileManager.default.fileExists(atPath: systems.outbox + "/IDO_20261201.csv"))

        let detail = try #require(try systems.store().detail(runID: 1))
        #expect(detail.run.state == .succeeded)
        #expect(detail.files.map(\.direction) == [.received, .delivered])
        #expect(detail.files.map(\.outcome) == [.received, .delivered])
        #expect(detail.files[0].source == systems.outbox + "/IDO_20261201.csv")
        #expect(detail.files[0].path == systems.scratch.state + "/work/link/1/in/IDO_20261201.csv")
        #expect(detail.files[0].bytes == 13)
        #expect(detail.files[0].sha256 == "f00bc6aafa4f4f2317c9318ca3a25ed01acea5939c1fe35b41d0f858f13bae6f")
        #expect(detail.files[1].path == systems.inbox + "/IDO_20261201.csv")
        #expect(detail.files.allSatisfy { $0.logicalDate == "2026-12-01" && $0.job == "link" })
        #expect(detail.steps[0].command.contains("link-step"))

        let show = try systems.run(["show", "1"])
        #expect(show.stdout.contains("received \(systems.outbox)/IDO_20261201.csv → "))
        #expect(show.stdout.contains("delivered \(systems.inbox)/IDO_20261201.csv"))
        let json = try systems.run(["show", "1", "--json"])
        #expect(json.stdout.contains("\"files\" : ["))
        #expect(json.stdout.contains("\"direction\" : \"delivered\""))
    }

    @Test func aFileThatNeverArrivesIsLateThenARerunTakesIt() throws {
        let systems = try Systems()
        systems.scratch.writeJob("link", Self.linkJob(systems, waitUntil: "1s"))
        let late = try systems.run(["run", "link", "--local", "--logical-time", "2026-12-01 06:30"])
        #expect(late.status == 1)
        let failed = try #require(try systems.store().detail(runID: 1))
        #expect(failed.run.errorClass == .late)
        #expect(failed.run.failedStep == "receive")
        #expect(failed.run.errorMessage?.contains("IDO_20261201.csv did not arrive in \(systems.outbox)") == true)
        #expect(failed.steps.map(\.state) == [.failed, .notRun, .notRun])

        systems.put("IDO_20261201.csv", "sato,tenkyo\n")
        systems.put("IDO_20261201.end", "")
        let rerun = try systems.run(["rerun", "1", "--local", "--reason", "the registry sent it late"])
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        let store = try systems.store()
        #expect(try store.detail(runID: 1)?.run.resolvedBy == 2)
        #expect(systems.read(systems.inbox + "/IDO_20261201.csv") == "SATO,TENKYO\n")
    }

    @Test func theSameContentForAnotherDateIsADuplicate() throws {
        let systems = try Systems()
        systems.scratch.writeJob("link", Self.linkJob(systems))
        for date in ["20261201", "20261202"] {
            systems.put("IDO_\(date).csv", "same,content\n")
            systems.put("IDO_\(date).end", "")
        }
        #expect(try systems.run(["run", "link", "--local", "--logical-time", "2026-12-01 06:30"]).status == 0)
        let second = try systems.run(["run", "link", "--local", "--logical-time", "2026-12-02 06:30"])
        #expect(second.status == 1)
        let detail = try #require(try systems.store().detail(runID: 2))
        #expect(detail.run.errorClass == .duplicate)
        #expect(detail.run.errorMessage?.contains("run 1") == true)
        #expect(detail.run.errorMessage?.contains("2026-12-01") == true)
        #expect(detail.files.map(\.outcome) == [.duplicate])
        #expect(!FileManager.default.fileExists(atPath: systems.inbox + "/IDO_20261202.csv"))
        // The same date again is a rerun's business, not a duplicate.
        #expect(try systems.run(["run", "link", "--local", "--logical-time", "2026-12-01 07:00"]).status == 0)
    }

    @Test func redeliveryIsANoOpAndDifferentContentNeedsForceAndAReason() throws {
        let systems = try Systems()
        systems.scratch.writeJob("link", Self.linkJob(systems))
        systems.put("IDO_20261201.csv", "first\n")
        systems.put("IDO_20261201.end", "")
        #expect(try systems.run(["run", "link", "--local", "--logical-time", "2026-12-01 06:30"]).status == 0)
        let delivered = systems.inbox + "/IDO_20261201.csv"
        let before = try FileManager.default.attributesOfItem(atPath: delivered)

        // Identical content for the same date: succeeds without writing.
        let again = try systems.run(["rerun", "1", "--local", "--force", "--from-top", "--reason", "the welfare team asked"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        let after = try FileManager.default.attributesOfItem(atPath: delivered)
        #expect(before[.systemFileNumber] as? Int == after[.systemFileNumber] as? Int)
        let noOp = try #require(try systems.store().detail(runID: 2))
        #expect(noOp.files.last?.outcome == .alreadyDelivered)
        #expect(noOp.files.last?.note?.contains("already delivered by run 1") == true)

        // Different content for the date: refused without --force …
        systems.put("IDO_20261201.csv", "corrected\n")
        let refused = try systems.run(["run", "link", "--local", "--logical-time", "2026-12-01 06:30"])
        #expect(refused.status == 1)
        let refusedRun = try #require(try systems.store().detail(runID: 3))
        #expect(refusedRun.run.errorClass == .duplicate)
        #expect(refusedRun.run.failedStep == "deliver")
        #expect(systems.read(delivered) == "FIRST\n")
        // … and with --force and a reason, if_exists (fail) still guards the target; replace lets it through.
        systems.scratch.writeJob("link", Self.linkJob(systems, ifExists: "replace"))
        let forced = try systems.run(["rerun", "3", "--local", "--force", "--reason", "the registry corrected record 2"])
        #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
        #expect(systems.read(delivered) == "CORRECTED\n")
    }

    @Test func aBuiltInStepObeysItsTimeoutLikeAnyStep() throws {
        let systems = try Systems()
        systems.scratch.writeJob("link", """
            steps:
              - name: receive
                receive: { from: "\(systems.outbox)", file: never.csv, wait_until: 1h }
                timeout: 2s
            """)
        let started = Date()
        let result = try systems.run(["run", "link", "--local"])
        #expect(result.status == 1)
        #expect(Date().timeIntervalSince(started) < 30)
        let detail = try #require(try systems.store().detail(runID: 1))
        #expect(detail.run.state == .timedOut)
        #expect(detail.run.errorClass == .timeout)
    }

    @Test func aStepTriedByHandRecordsNothing() throws {
        let systems = try Systems()
        systems.scratch.writeJob("link", Self.linkJob(systems))
        systems.put("IDO_20261201.csv", "by,hand\n")
        systems.put("IDO_20261201.end", "")
        let work = systems.scratch.root + "/try"
        let result = try systems.run(["step", "link", "receive", "--logical-time", "2026-12-01", "--work-dir", work])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("received: \(work)/in/IDO_20261201.csv"))
        #expect(systems.read(work + "/in/IDO_20261201.csv") == "by,hand\n")
        #expect(!FileManager.default.fileExists(atPath: systems.scratch.state + "/renkei.db"))
        #expect(try systems.run(["step", "link", "transform"]).status == 2)
        #expect(try systems.run(["step", "link", "nope"]).status == 5)
    }
}
