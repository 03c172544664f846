import Foundation
import GRDB
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// The store's memory of trigger files: what makes one file start one run, across names and restarts.
@Suite struct TriggerFileTests {
    let sha = String(repeating: "ab", count: 32)
    let job = Job(name: JobName("kokuho-shikaku")!, steps: [Step(name: "import", command: .argv(["/bin/true"]))], definitionHash: "abc")

    @Test func theSameContentUnderASecondNameIsAlreadySeen() async throws {
        try await Scratch.withDirectory { directory in
            let store = try RunStore.openForWriting(at: directory + "/renkei.db")
            let first = try await store.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/shikaku_20261201.csv", sha256: sha,
                                                         bytes: 20, logicalDate: "2026-12-01", at: Date())
            guard case .new(let id) = first else { Issue.record("\(first)"); return }
            // Before its run is recorded: seen, no run yet.
            let renamed = try await store.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/shikaku_20261201 (copy).csv",
                                                           sha256: sha, bytes: 20, logicalDate: "2026-12-01", at: Date())
            #expect(renamed == .alreadySeen(runID: nil, path: "/srv/outbox/shikaku_20261201.csv"))
            let run = try await store.enqueue(NewRun(job: job, logicalTime: LogicalTime(epochSeconds: 1_796_050_800, zoneIdentifier: "Asia/Tokyo"),
                                                     trigger: .manual), owner: .current, at: Date())
            try await store.attachRun(triggerFile: id, runID: run.id!)
            let again = try await store.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/other.csv", sha256: sha,
                                                         bytes: 20, logicalDate: "2026-12-02", at: Date())
            #expect(again == .alreadySeen(runID: run.id!, path: "/srv/outbox/shikaku_20261201.csv"))
            // The same content for another job is new for that job.
            let otherJob = try await store.claimTriggerFile(job: "kokuho-copy", path: "/srv/outbox/shikaku_20261201.csv", sha256: sha,
                                                            bytes: 20, logicalDate: "2026-12-01", at: Date())
            guard case .new = otherJob else { Issue.record("\(otherJob)"); return }
            // Different content under the first name is new.
            let changed = try await store.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/shikaku_20261201.csv",
                                                           sha256: String(repeating: "cd", count: 32), bytes: 21, logicalDate: "2026-12-01", at: Date())
            guard case .new = changed else { Issue.record("\(changed)"); return }
        }
    }

    @Test func aClaimSurvivesReopeningTheStore() async throws {
        try await Scratch.withDirectory { directory in
            let path = directory + "/renkei.db"
            var store: RunStore? = try RunStore.openForWriting(at: path)
            let claim = try await store!.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/a.csv", sha256: sha, bytes: 1,
                                                          logicalDate: "2026-12-01", at: Date())
            guard case .new(let id) = claim else { Issue.record("\(claim)"); return }
            store?.close()
            store = nil

            let reopened = try RunStore.openForWriting(at: path)
            // renkeid stopped before the run was recorded: the claim is there, waiting for its run.
            let orphans = try reopened.triggerFilesWithoutRun()
            #expect(orphans.map(\.id) == [id])
            #expect(orphans.first?.path == "/srv/outbox/a.csv")
            #expect(orphans.first?.logicalDate == "2026-12-01")
            let again = try await reopened.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/a.csv", sha256: sha, bytes: 1,
                                                            logicalDate: "2026-12-01", at: Date())
            #expect(again == .alreadySeen(runID: nil, path: "/srv/outbox/a.csv"))
            let run = try await reopened.enqueue(NewRun(job: job, logicalTime: LogicalTime(epochSeconds: 1_796_050_800, zoneIdentifier: "Asia/Tokyo"),
                                                        trigger: .manual), owner: .current, at: Date())
            try await reopened.attachRun(triggerFile: id, runID: run.id!)
            #expect(try reopened.triggerFilesWithoutRun().isEmpty)
        }
    }

    @Test func aDatabaseFromBeforeTriggerFilesGetsTheTable() async throws {
        try await Scratch.withDirectory { directory in
            let path = directory + "/renkei.db"
            do {
                let old = try DatabaseQueue(path: path)
                try Migrations.migrator.migrate(old, upTo: "v6: waiting runs")
                let exists = try await old.read { db in try db.tableExists("trigger_file") }
                #expect(!exists)
                try old.close()
            }
            let store = try RunStore.openForWriting(at: path)
            let claim = try await store.claimTriggerFile(job: "kokuho-shikaku", path: "/srv/outbox/a.csv", sha256: sha, bytes: 1,
                                                         logicalDate: "2026-12-01", at: Date())
            #expect(claim == .new(1))
            let migrations = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
            #expect(migrations.contains("v7: trigger files"))
        }
    }
}
