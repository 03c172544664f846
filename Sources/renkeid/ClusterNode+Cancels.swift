import Foundation
import Logging
import RenkeiCore
import RenkeiPostgres
import RenkeiStore

/// The owner's part of `renkeictl cancel` on PostgreSQL: a cancel of a run this node runs is
/// this node's to carry out (`ClusterRequests.takeNext` gives it no one else), from whichever
/// node's socket it was asked.
extension ClusterNode {
    /// Takes the cancels of runs this node runs and stops each run's steps, in the name of the
    /// operator who asked; the run is then recorded `cancelled` by them. Called by the claims duty.
    func takeCancels(_ connection: NodeConnection) async {
        guard node.runCount > 0, node.mayWrite else { return }
        let incarnation = node.registration.incarnation
        do {
            try await connection.use { session in
                while let taken = try await ClusterRequests.takeNext(session, node: incarnation, kinds: [.cancel]) {
                    try await carryOut(taken, session)
                }
            }
        } catch {
            logger.warning("node \(node.registration.name) cannot take the cancels of its runs: \(error); it tries again within a second")
        }
    }

    private func carryOut(_ taken: TakenRequest, _ session: PostgresSession) async throws {
        let request = taken.request, runID = request.runID ?? 0, name = node.registration.name
        let fields: Logger.Metadata = [EventField.runID: "\(runID)", EventField.job: "\(request.job)", EventField.requestedBy: "\(request.requestedByUser)"]
        let audit = { (status: RequestStatus.State, outcome: String) in
            { (session: PostgresSession) async throws -> Void in
                _ = try await PostgresAudit.append(ClusterLedger.auditEntry(taken, done: status == .done, outcome: outcome, by: name),
                                                   runID: runID, key: node.auditKey, inTransactionOf: session)
            }
        }
        if node.operatorCancels(runID, by: request.requestedByUser) {
            let outcome = "stopping run \(runID) on node \(name): SIGTERM to its steps, SIGKILL after the job's kill grace; it is recorded cancelled by \(request.requestedByUser)"
            try await ClusterRequests.complete(taken, outcome: outcome, session, inTransaction: audit(.done, outcome))
            logger.notice("\(request.job): run \(runID) is being cancelled, asked by \(request.requestedByUser) (request \(taken.id))", metadata: fields)
        } else {
            let outcome = "run \(runID) ended on node \(name) before the cancel reached it; nothing to cancel (renkeictl show \(runID))"
            try await ClusterRequests.refuse(taken, reason: outcome, session, inTransaction: audit(.refused, outcome))
            logger.notice("\(request.job): \(outcome)", metadata: fields)
        }
    }
}
