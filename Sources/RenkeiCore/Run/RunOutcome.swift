/// How a run ended, decided from its steps: the first step that did not succeed decides.
public struct RunOutcome: Sendable, Equatable {
    public var state: RunState
    public var errorClass: ErrorClass?
    /// For the operator: which step, what happened.
    public var message: String?
    /// The step that failed, if one did.
    public var failedStep: String?
    public var exitStatus: Int32?
    public var signal: Int32?

    public init(state: RunState, errorClass: ErrorClass? = nil, message: String? = nil, failedStep: String? = nil, exitStatus: Int32? = nil, signal: Int32? = nil) {
        self.state = state
        self.errorClass = errorClass
        self.message = message
        self.failedStep = failedStep
        self.exitStatus = exitStatus
        self.signal = signal
    }

    public static let succeeded = RunOutcome(state: .succeeded)

    /// The outcome of a run whose steps ended as listed, in order.
    public static func decide(_ steps: [(name: String, termination: StepTermination)]) -> RunOutcome {
        guard let failed = steps.first(where: { !$0.termination.succeeded }) else { return .succeeded }
        let message = "step \(failed.name): \(failed.termination.summary)"
        switch failed.termination {
        case .exited(let status):
            return RunOutcome(state: .failed, errorClass: .exit, message: message, failedStep: failed.name, exitStatus: status)
        case .signaled(let signal):
            return RunOutcome(state: .failed, errorClass: .signal, message: message, failedStep: failed.name, signal: signal)
        case .timedOut:
            return RunOutcome(state: .timedOut, errorClass: .timeout, message: message, failedStep: failed.name)
        case .spawnFailed:
            return RunOutcome(state: .failed, errorClass: .spawn, message: message, failedStep: failed.name)
        case .cancelled:
            return RunOutcome(state: .cancelled, message: message, failedStep: failed.name)
        case .linkFailed(let errorClass, _):
            return RunOutcome(state: .failed, errorClass: errorClass, message: message, failedStep: failed.name)
        }
    }
}
