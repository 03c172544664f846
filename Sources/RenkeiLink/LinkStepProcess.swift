import RenkeiCore

/// Carries out one built-in step's request, in the step's own process (`renkeictl link-step`), so
/// a timeout or a cancel reaches it as it reaches any step.
public enum LinkStepProcess {
    /// Performs `request`; `say` gets lines for the step's output (what an operator reads in `show`).
    public static func perform(_ request: LinkRequest, say: (String) -> Void) -> LinkResult {
        switch (request.receive, request.deliver) {
        case (let receive?, nil):
            return withoutActuallyEscaping(say) { Receiving(request: request, receive: receive, say: $0).perform() }
        case (nil, let deliver?):
            return withoutActuallyEscaping(say) { Delivering(request: request, deliver: deliver, say: $0).perform() }
        case (.some, .some):
            return LinkResult(failure: StepFailure.exit("step \(request.step) of \(request.job) asks to receive and to deliver at once; a step does one of them").result)
        case (nil, nil):
            return LinkResult(failure: StepFailure.exit("step \(request.step) of \(request.job) asks neither to receive nor to deliver").result)
        }
    }
}
