import RenkeiControl
import RenkeiCore
import RenkeiStore

/// Why a rerun cannot be made, with the exit status renkeictl should end with.
public struct RerunRefusal: Error, Sendable {
    public let status: Int32
    public let message: String

    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }
}

/// Turns "rerun run N" into the run to make: the same job, logical time and parameters as N —
/// from the step that failed in N's work directory (default), from the top in a copy of it, or
/// one step — or a refusal that says why. Shared by renkeid and `renkeictl rerun --local`.
public enum RerunPreparation {
    public static func request(rerunning detail: RunDetail, job: LoadedJob?, mode: ControlRequest.RerunMode, step: String?, force: Bool,
                               requester: Requester, reason: String?) -> Result<RunRequest, RerunRefusal> {
        let run = detail.run
        let id = run.id!
        guard let loaded = job else {
            return .failure(RerunRefusal(status: 5, message: "the job \(run.job) of run \(id) is no longer defined (its file was removed): restore the job file to rerun it"))
        }
        if run.state == .succeeded && !force {
            return .failure(RerunRefusal(status: 2, message: "run \(id) succeeded; rerunning it would deliver the same data twice — add --force if that is really wanted"))
        }
        if let resolvedBy = run.resolvedBy, !force {
            return .failure(RerunRefusal(status: 2, message: "run \(id) was already resolved by run \(resolvedBy); rerunning it would deliver the same data twice — add --force if that is really wanted"))
        }
        if !run.state.isFinal || run.state == .skipped || run.state == .missed {
            if run.state == .skipped || run.state == .missed {
                // A slot that never ran: run it for its logical time, from the top.
                var request = RunRequest(job: loaded, logicalTime: run.logical, trigger: .rerun, requestedBy: requester,
                                         reason: reason, rerunOf: id)
                request.workDirectory = .fresh
                return .success(request)
            }
            return .failure(RerunRefusal(status: 2, message: "run \(id) is still \(run.state.rawValue): wait for it to end (renkeictl show \(id)) or cancel it first"))
        }
        var request = RunRequest(job: loaded, logicalTime: run.logical, trigger: .rerun, requestedBy: requester,
                                 reason: reason, rerunOf: id)
        request.force = force
        let steps = loaded.job.steps
        switch mode {
        case .fromTop:
            request.steps = .all
            request.workDirectory = run.workDirectory.map { .copy(from: $0) } ?? .fresh
        case .only:
            guard let step, let index = steps.firstIndex(where: { $0.name == step }) else {
                return .failure(RerunRefusal(status: 2, message: "--only: \(loaded.job.name) has no step '\(step ?? "")' (steps: \(steps.map(\.name).joined(separator: ", ")))"))
            }
            request.steps = .only(index)
            request.workDirectory = run.workDirectory.map { .reuse($0) } ?? .fresh
        case .fromNext:
            let failed = run.failedStep ?? detail.steps.first { $0.state != .succeeded && $0.state != .reused && $0.state != .skippedByOperator }?.name
            guard let failed, let index = steps.firstIndex(where: { $0.name == failed }) else {
                return .failure(RerunRefusal(status: 2, message: "--from-next: run \(id) has no failed step to skip (renkeictl show \(id)); rerun it from the failed step or from the top"))
            }
            guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                return .failure(RerunRefusal(status: 2, message: "--from-next skips step \(failed) as done by hand: say what was done with --reason (it is kept with the run)"))
            }
            guard let directory = run.workDirectory else {
                return .failure(RerunRefusal(status: 2, message: "--from-next: run \(id) has no work directory to continue in; rerun it from the top"))
            }
            request.steps = .from(index + 1)
            request.skippedStep = index
            request.workDirectory = .reuse(directory)
        case .fromFailed:
            let failed = run.failedStep ?? detail.steps.first { $0.state != .succeeded && $0.state != .reused }?.name
            guard let failed, let index = steps.firstIndex(where: { $0.name == failed }), let directory = run.workDirectory else {
                request.steps = .all
                return .success(request)
            }
            request.steps = .from(index)
            request.workDirectory = .reuse(directory)
        }
        return .success(request)
    }
}
