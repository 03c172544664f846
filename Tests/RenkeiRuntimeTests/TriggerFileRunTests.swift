import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// A run started by a file's arrival gets the file, and its record says which file it was.
@Suite struct TriggerFileRunTests {
    @Test func theTriggerFileReachesTheStepsAndTheRunsParameters() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        let job = Job(name: JobName("kokuho-shikaku")!, environment: ["SOURCE": "${RENKEI_TRIGGER_FILE}"], steps: [
            Step(name: "import", command: .argv(["/bin/sh", "-c", "printf '%s|%s' \"$RENKEI_TRIGGER_FILE\" \"$SOURCE\"; printf '%s' \"$1\" >&2",
                                                 "sh", "${RENKEI_TRIGGER_FILE}"])),
        ], definitionHash: "h")
        var request = RunRequest(job: LoadedJob(job: job, file: scratch.jobs + "/kokuho-shikaku.yaml"),
                                 logicalTime: LogicalTime(epochSeconds: 1_796_050_800, zoneIdentifier: "Asia/Tokyo"), trigger: .manual)
        request.triggerFile = "/srv/kokuho/outbox/shikaku_20261201.csv"
        let run = try await Runner(state: state, store: store).perform(request)
        #expect(run.state == .succeeded)
        let detail = try #require(try store.detail(runID: run.id!))
        let file = "/srv/kokuho/outbox/shikaku_20261201.csv"
        #expect(String(decoding: detail.steps[0].stdoutTail, as: UTF8.self) == "\(file)|\(file)")
        #expect(String(decoding: detail.steps[0].stderrTail, as: UTF8.self) == file)
        #expect(detail.run.parameters.contains("\"trigger_file\":\"\\/srv\\/kokuho\\/outbox\\/shikaku_20261201.csv\"")
                || detail.run.parameters.contains("\"trigger_file\":\"/srv/kokuho/outbox/shikaku_20261201.csv\""))
        #expect(detail.run.environment.contains("RENKEI_TRIGGER_FILE"))
    }

    @Test func aRunNoFileStartedExpandsTheVariableToNothing() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(scratch.state)
        let store = try state.openStoreForWriting()
        let job = Job(name: JobName("juki")!, environment: ["SOURCE": "${RENKEI_TRIGGER_FILE}"], steps: [
            Step(name: "export", command: .argv(["/bin/echo", "[${RENKEI_TRIGGER_FILE}]"])),
        ], definitionHash: "h")
        let request = RunRequest(job: LoadedJob(job: job, file: scratch.jobs + "/juki.yaml"),
                                 logicalTime: LogicalTime(epochSeconds: 1_796_050_800, zoneIdentifier: "Asia/Tokyo"), trigger: .manual)
        let run = try await Runner(state: state, store: store).perform(request)
        #expect(run.state == .succeeded)
        let detail = try #require(try store.detail(runID: run.id!))
        #expect(String(decoding: detail.steps[0].stdoutTail, as: UTF8.self) == "[]\n")
        #expect(!detail.run.parameters.contains("trigger_file"))
        #expect(!detail.run.environment.contains("RENKEI_TRIGGER_FILE"))
    }
}
