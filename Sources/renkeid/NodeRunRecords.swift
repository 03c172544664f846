import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiStore

/// A claimed run's records as this node writes them: nothing once the node has fenced itself
/// (its heartbeat silent past `--self-fence-after`), and each step's process group noted so the
/// self-fence can kill it.
struct NodeRunRecords: RunRecords {
    let claimed: ClaimedRunRecords
    let node: NodeState

    /// A write refused because this node fenced itself.
    struct Fenced: Error, CustomStringConvertible {
        var runID: Int64
        var description: String {
            "run \(runID) was not written: this node cannot reach PostgreSQL with its heartbeat and stopped its own steps; the leader interrupts the run and retries it elsewhere"
        }
    }

    private func mayWrite(_ runID: Int64) throws {
        guard node.mayWrite else { throw Fenced(runID: runID) }
    }

    /// PostgresNIO ends a query with `CancellationError` when its task is cancelled — and a run's
    /// task is cancelled to stop its steps (an operator's cancel, the shutdown grace, the
    /// self-fence). What the steps did must still be recorded: as with SQLite, these writes do not
    /// heed cancellation, so each runs in a task of its own (an unstructured task is not cancelled
    /// with the one awaiting it).
    private func uncancelled<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await Task { try await body() }.value
    }

    func start(runID: Int64, environment: [String: String], workDirectory: String, at now: Date) async throws -> RunRecord {
        try mayWrite(runID)
        let claimed = claimed
        return try await uncancelled { try await claimed.start(runID: runID, environment: environment, workDirectory: workDirectory, at: now) }
    }

    func stepStarted(runID: Int64, position: Int, command: [String], at now: Date) async throws {
        try mayWrite(runID)
        let claimed = claimed
        try await uncancelled { try await claimed.stepStarted(runID: runID, position: position, command: command, at: now) }
    }

    func stepSpawned(runID: Int64, position: Int, pid: Int32) {
        // The executor makes each step the leader of its own process group.
        node.stepSpawned(runID, processGroup: pid)
        guard node.mayWrite else { return }
        claimed.stepSpawned(runID: runID, position: position, pid: pid)
    }

    func stepFinished(runID: Int64, position: Int, end: StepEnd) async throws {
        try mayWrite(runID)
        let claimed = claimed
        try await uncancelled { try await claimed.stepFinished(runID: runID, position: position, end: end) }
    }

    func finish(runID: Int64, outcome: RunOutcome, at now: Date) async throws -> RunRecord {
        try mayWrite(runID)
        let claimed = claimed
        return try await uncancelled { try await claimed.finish(runID: runID, outcome: outcome, at: now) }
    }

    func receipts(job: String, logicalDate: String, direction: LinkFile.Direction) async throws -> [LinkRequest.Receipt] {
        let claimed = claimed
        return try await uncancelled { try await claimed.receipts(job: job, logicalDate: logicalDate, direction: direction) }
    }
}
