import RenkeiCore

/// Carries out one built-in step's request, in the step's own process (`renkeictl link-step`), so
/// a timeout or a cancel reaches it as it reaches any step.
public enum LinkStepProcess {
    /// Performs `request`; `say` gets lines for the step's output (what an operator reads in `show`).
    public static func perform(_ request: LinkRequest, say: (String) -> Void) -> LinkResult {
        let asked = [request.receive != nil, request.deliver != nil, request.check != nil, request.convert != nil].filter { $0 }.count
        guard asked == 1 else {
            return LinkResult(failure: StepFailure.exit("step \(request.step) of \(request.job) asks for \(asked) things at once; a built-in step does exactly one").result)
        }
        if let receive = request.receive {
            return withoutActuallyEscaping(say) { Receiving(request: request, receive: receive, say: $0).perform() }
        }
        if let deliver = request.deliver {
            return withoutActuallyEscaping(say) { Delivering(request: request, deliver: deliver, say: $0).perform() }
        }
        if let check = request.check { return FileCheck.perform(check, say: say) }
        guard let convert = request.convert else { return LinkResult(failure: StepFailure.exit("step \(request.step) asks for nothing").result) }
        return FileConversion.perform(convert, say: say)
    }

    /// `check:` on its own (`renkeictl check-file`).
    public static func check(_ check: LinkRequest.Check, say: (String) -> Void) -> LinkResult { FileCheck.perform(check, say: say) }

    /// `convert:` on its own (`renkeictl convert-file`).
    public static func convert(_ convert: LinkRequest.Convert, say: (String) -> Void) -> LinkResult { FileConversion.perform(convert, say: say) }
}
