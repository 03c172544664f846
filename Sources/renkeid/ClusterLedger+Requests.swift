import Foundation
import Logging
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import RenkeiStore

/// The leader's part of operators' requests (`ClusterRequests`, written by any node's
/// `ClusterDesk`): runs and reruns become queued runs, holds and releases change the `hold`
/// table, a cancel of a run no node runs yet cancels it. Each request is taken, decided and
/// finished in one transaction fenced by the leader's term, with its outcome's audit row.
extension ClusterLedger {
    /// Requests taken in one pass at most: the calendar's next slot is not kept waiting by a burst.
    static let requestsPerPass = 20

    /// Gives back the requests dead nodes took, then acts on the pending ones.
    func actOnRequests(_ session: PostgresSession, lease: LeaderLease, epoch: Int64, node: NodeState, logger: Logger) async throws {
        switch try await lease.fencedWrite(session, epoch: epoch, doing: "giving back the requests of dead nodes", {
            try await ClusterRequests.requeueTakenByDeadNodes(session)
        }) {
        case .fenced(let refusal): throw refusal
        case .written(let ids) where !ids.isEmpty:
            logger.notice("request(s) \(ids.map(String.init).joined(separator: ", ")) were taken by a node since declared dead: pending again, for another node")
        case .written: break
        }
        let name = node.registration.name
        for _ in 0..<Self.requestsPerPass {
            let handled = try await ClusterRequests.actAsLeader(session, lease: lease, epoch: epoch, decide: { taken in
                try await decide(taken, session)
            }, inTransaction: { session, handling in
                guard handling.status.isFinished else { return }
                try await PostgresAudit.append(Self.auditEntry(handling.request, done: handling.status.state == .done, outcome: handling.status.outcome ?? "", by: name), runID: handling.status.resultRunID ?? handling.request.request.runID,
                                               key: node.auditKey, inTransactionOf: session)
            })
            switch handled {
            case .fenced(let refusal):
                throw refusal
            case .written(nil):
                return
            case .written(let handling?):
                let request = handling.request.request
                let fields = [EventField.job: request.job, EventField.requestedBy: request.requestedByUser, EventField.epoch: "\(epoch)"]
                switch handling.status.state {
                case .done:
                    if handling.status.resultRunID != nil { node.change { $0.runsQueued = true } }
                    let message = "request \(handling.request.id) (\(request.summary), asked by \(request.requestedByUser)) done: \(handling.status.outcome ?? "")"
                    if request.kind == .rerun { logger.event(.rerunRequested, .notice, message, fields) } else { logger.notice("\(message)", metadata: fields.mapValues { .string($0) }) }
                case .refused:
                    let message = "request \(handling.request.id) (\(request.summary), asked by \(request.requestedByUser)) refused: \(handling.status.outcome ?? "")"
                    if request.kind == .rerun { logger.event(.rerunRefused, .warning, message, fields) } else { logger.warning("\(message)", metadata: fields.mapValues { .string($0) }) }
                case .pending, .taken:
                    logger.info("request \(handling.request.id) (\(request.summary)): the run started meanwhile; the node running it takes the cancel")
                }
            }
        }
    }

    /// What the leader does with a request, knowing the job definitions.
    func decide(_ taken: TakenRequest, _ session: PostgresSession) async throws -> LeaderDecision {
        let request = taken.request
        switch request.kind {
        case .cancel, .release:
            return .act
        case .hold:
            guard jobs[request.job] != nil else { return .refuse(Self.undefined(request.job)) }
            return .act
        case .run:
            guard let loaded = jobs[request.job] else { return .refuse(Self.undefined(request.job)) }
            let logicalTime = request.logicalTime ?? Instant(Date()).secondsSinceEpoch
            return .queue(QueuedRun(job: request.job, logicalTime: logicalTime, zone: zone(of: request.job), trigger: .manual,
                                    definitionHash: loaded.job.definitionHash, parameters: request.parameters, steps: QueuedRun.Step.all(of: loaded.job)))
        case .rerun:
            guard let id = request.runID, let run = try await PostgresRunReading.run(session, id: id) else {
                return .refuse("there is no run \(request.runID.map(String.init) ?? "?") (renkeictl history --store URL)")
            }
            guard let loaded = jobs[run.job] else {
                return .refuse("the job \(run.job) of run \(id) is no longer defined on the leader (no valid \(run.job).yaml): restore the job file on every node to rerun it")
            }
            if !run.state.isFinal {
                return .refuse("run \(id) is still \(run.state.rawValue): wait for it to end (renkeictl show \(id)) or cancel it first (renkeictl cancel \(id))")
            }
            if run.state == .succeeded {
                return .refuse("run \(id) succeeded; rerunning it would deliver the same data twice (rerun --force is not yet on PostgreSQL)")
            }
            if let resolvedBy = run.resolvedBy {
                return .refuse("run \(id) was already resolved by run \(resolvedBy); rerunning it would deliver the same data twice")
            }
            return .queue(QueuedRun(job: run.job, logicalTime: run.logicalTime, zone: run.logicalZone, trigger: .rerun,
                                    definitionHash: loaded.job.definitionHash, parameters: run.parameters, rerunOf: id,
                                    steps: QueuedRun.Step.all(of: loaded.job)))
        }
    }

    static func undefined(_ job: String) -> String {
        "no job named \(job) on the leader (no valid \(job).yaml in its jobs directory): every node needs the same job files"
    }

    /// The audit row of a request's outcome, in the name of the operator who asked (the leader's
    /// outcomes and a run owner's cancel alike).
    static func auditEntry(_ taken: TakenRequest, done: Bool, outcome: String, by node: String) -> AuditEntry {
        let request = taken.request
        return AuditEntry(uid: request.requestedByUid, user: request.requestedByUser, pid: 0,
                          request: "request \(taken.id): \(request.summary)", reason: request.reason,
                          result: "\(done ? "done" : "refused") by node \(node): \(outcome)")
    }
}
