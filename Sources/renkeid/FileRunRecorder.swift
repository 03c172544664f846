import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

/// Records the run a trigger file starts, off the loop: `queued` with the file, tied to the file's
/// claim, then handed to the loop like an operator's run.
struct FileRunRecorder: Sendable {
    let runner: Runner
    let store: RunStore
    let inbox: Inbox
    let logger: Logger

    func record(_ loaded: LoadedJob, file: String, logical: LogicalTime, claim: Int64) async {
        var request = RunRequest(job: loaded, logicalTime: logical, trigger: .file)
        request.triggerFile = file
        do {
            let row = try await runner.enqueue(request)
            try await store.attachRun(triggerFile: claim, runID: row.id!)
            logger.event(.triggerFileTaken, .notice, "\(loaded.job.name): \(file) arrived complete; run \(row.id!) for \(logical.iso8601) is queued with it",
                         [EventField.job: loaded.job.name.rawValue, EventField.runID: "\(row.id!)", "RENKEI_FILE": file,
                          EventField.logicalTime: logical.iso8601])
            inbox.send(.queued(request, row))
        } catch let failure as StoreFailure {
            inbox.send(.storeFailed(Daemon.Loop.problem(failure)))
            logger.error("\(loaded.job.name): the run for \(file) could not be recorded: \(failure); it is made at the next start")
        } catch {
            logger.error("\(loaded.job.name): the run for \(file) could not be recorded: \(error)")
        }
    }
}
