import Foundation
import Synchronization
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// A run whose store stops taking writes while it runs, with a real SQLite file and real child
/// processes: another file is put at the store's path (as an operator restoring a backup over a
/// running daemon's store would), which the store refuses to write past, root or not.
@Suite struct RunNotRecordedTests {
    private let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")

    /// The run's id as `onQueued` saw it.
    final class Queued: Sendable {
        let id = Mutex<Int64?>(nil)
    }

    private func request(_ scratch: Scratch, _ steps: [Step]) -> RunRequest {
        let job = Job(name: JobName("juki")!, steps: steps, definitionHash: "h")
        return RunRequest(job: LoadedJob(job: job, file: scratch.jobs + "/juki.yaml"), logicalTime: logical, trigger: .manual)
    }

    /// Another file put at the store's path in one step (`mv` over it), the store's own file kept
    /// as `renkei.db.bak` (a hard link, so the path never names no file, even for an instant).
    private static func replaceCommand(_ state: StateDirectory) -> String {
        let database = state.database
        return "ln '\(database)' '\(database).bak' && printf 'not the store' > '\(database).new' && mv '\(database).new' '\(database)'"
    }

    @Test func aWriteThatFailsMidRunStopsTheRunAndHandsBackWhatItsRowMustSay() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        let marker = scratch.root + "/second-step-ran"
        let request = request(scratch, [
            Step(name: "export", command: .shell(Self.replaceCommand(state))),
            Step(name: "deliver", command: .shell("touch '\(marker)'")),
        ])
        let queued = Queued()
        let error = await #expect(throws: RunNotRecorded.self) {
            try await Runner(state: state, store: store).perform(request) { row in queued.id.withLock { $0 = row.id } }
        }
        let notRecorded = try #require(error)

        #expect(!FileManager.default.fileExists(atPath: marker), "no step starts after a write failed")
        let runID = try #require(queued.id.withLock { $0 })
        #expect(notRecorded.runID == runID)
        #expect((notRecorded.failure as? StoreFailure)?.kind == .replaced)
        #expect(notRecorded.outcome.state == .failed)
        #expect(notRecorded.outcome.errorClass == .storage)
        #expect(notRecorded.outcome.failedStep == "export")
        let message = try #require(notRecorded.outcome.message)
        #expect(message.hasPrefix("the run could not be recorded: the run store \(state.database) cannot be written: another file has been put at its path"))
        #expect(message.hasSuffix("; step export ended (exit status 0) but that could not be recorded"))
        #expect(notRecorded.stepsEnded.map(\.name) == ["export"])
        #expect(notRecorded.stepsEnded.map(\.termination) == [.exited(0)])
        #expect("\(notRecorded)".hasPrefix("run \(runID) is not on record as ended; its row must say failed: the run could not be recorded: "))

        // The store's own file, kept as renkei.db.bak: the run stopped at its first step's end.
        let moved = try #require(try RunStore.openForReading(at: state.database + ".bak").detail(runID: runID))
        #expect(moved.run.state == .running)
        #expect(moved.steps.map(\.state) == [.running, .pending])

        // Once the operator puts the store back, what the error carries is what gets written.
        store.close()
        #expect(rename(state.database + ".bak", state.database) == 0)
        let reopened = try state.openStoreForWriting()
        let recorded = try await reopened.finish(runID: runID, outcome: notRecorded.outcome, at: Date())
        #expect(recorded.state == .failed)
        #expect(recorded.errorClass == .storage)
        #expect(recorded.failedStep == "export")
        #expect(try reopened.detail(runID: runID)?.steps.last?.state == .notRun)
    }

    @Test func aRunWhoseQueuedRowCannotBeWrittenIsNotStarted() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        let marker = scratch.root + "/step-ran"
        let replaced = try execute("/bin/sh", ["-c", Self.replaceCommand(state)])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let queued = Queued()
        let error = await #expect(throws: RunNotRecorded.self) {
            try await Runner(state: state, store: store).perform(request(scratch, [Step(name: "export", command: .shell("touch '\(marker)'"))])) { row in
                queued.id.withLock { $0 = row.id }
            }
        }
        let notRecorded = try #require(error)
        #expect(notRecorded.runID == nil)
        #expect(queued.id.withLock { $0 } == nil, "nobody hears of a run that has no row")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect((notRecorded.failure as? StoreFailure)?.kind == .replaced)
        #expect(notRecorded.outcome.state == .failed)
        #expect(notRecorded.outcome.errorClass == .storage)
        #expect(notRecorded.outcome.message?.hasSuffix("; it was not started") == true)
        #expect(notRecorded.stepsEnded.isEmpty)
    }

    @Test func whenOnlyTheEndCannotBeWrittenTheRunsOwnOutcomeIsHandedBack() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        // A built-in step whose helper leaves a prepared answer with one file. The runner hands
        // each file on (`onFile`) after the step's end is committed and before the run's end is
        // written: the moment to put another file at the store's path.
        let answer = scratch.root + "/answer.json"
        let checked = LinkFile(direction: .checked, path: "/w/IDO.csv", bytes: 3, sha256: "abc", records: 1, outcome: .checked)
        try JSONEncoder().encode(LinkResult(files: [checked])).write(to: URL(fileURLWithPath: answer))
        let helper = scratch.root + "/link-helper"
        _ = FileManager.default.createFile(atPath: helper, contents: Data("""
            #!/bin/sh
            # link-step REQUEST: the answer goes beside the request.
            cp '\(answer)' "${2%.request.json}.result.json"

            """.utf8))
        chmod(helper, 0o755)
        let database = state.database
        let runner = Runner(state: state, store: store, linkHelper: helper, onFile: { _, _, _ in
            _ = link(database, database + ".bak")
            _ = FileManager.default.createFile(atPath: database + ".new", contents: Data("not the store".utf8))
            _ = rename(database + ".new", database)
        })
        let check = Step(name: "check", command: .link(.check(LinkStep.Check(file: "IDO.csv", encoding: .utf8))))
        let queued = Queued()
        let error = await #expect(throws: RunNotRecorded.self) {
            try await runner.perform(request(scratch, [check])) { row in queued.id.withLock { $0 = row.id } }
        }
        let notRecorded = try #require(error)

        let runID = try #require(queued.id.withLock { $0 })
        #expect(notRecorded.runID == runID)
        #expect(notRecorded.outcome == .succeeded, "every step ended and is on record: the row must say how the run really ended")
        #expect((notRecorded.failure as? StoreFailure)?.kind == .replaced)
        #expect(notRecorded.stepsEnded.map(\.name) == ["check"])
        #expect("\(notRecorded)".contains("its row must say succeeded: its end could not be written: the run store \(database) cannot be written"))

        // The step's end and its file are on record in the moved file; the run's end is not.
        let moved = try #require(try RunStore.openForReading(at: database + ".bak").detail(runID: runID))
        #expect(moved.run.state == .running)
        #expect(moved.steps.map(\.state) == [.succeeded])

        store.close()
        #expect(rename(database + ".bak", database) == 0)
        let reopened = try state.openStoreForWriting()
        #expect(try await reopened.finish(runID: runID, outcome: notRecorded.outcome, at: Date()).state == .succeeded)
    }
}
