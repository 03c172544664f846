import Foundation
import RenkeiCore

/// Where the progress of one run is written while it runs: its start, each step's start, process
/// and end, the run's end, and what a built-in step must know of earlier files. The SQLite store
/// (`RunStore`) writes them on one machine; on PostgreSQL a node writes them under the run's claim
/// (`ClaimedRunRecords`), so a node that lost the run writes nothing. `Runner` uses only this.
public protocol RunRecords: Sendable {
    /// Moves the queued run to `running` with the environment and work directory it runs with.
    func start(runID: Int64, environment: [String: String], workDirectory: String, at now: Date) async throws -> RunRecord
    /// Marks a step `running` with the argv it is about to run, before its process is spawned.
    func stepStarted(runID: Int64, position: Int, command: [String], at now: Date) async throws
    /// The step's process exists (called from the executor's synchronous start callback).
    func stepSpawned(runID: Int64, position: Int, pid: Int32)
    /// How a step ended, with its output tails and the files a built-in step moved.
    func stepFinished(runID: Int64, position: Int, end: StepEnd) async throws
    /// The run's end; steps still `pending` become `not_run`. Returns the final row.
    func finish(runID: Int64, outcome: RunOutcome, at now: Date) async throws -> RunRecord
    /// What a built-in step must not receive or deliver twice (`RunStore.receipts`).
    func receipts(job: String, logicalDate: String, direction: LinkFile.Direction) async throws -> [LinkRequest.Receipt]
}

extension RunStore: RunRecords {}
