import RenkeiCore

/// Carries out one built-in step's request. Placeholder until receive and deliver land.
public enum LinkStepProcess {
    /// Performs `request`; `say` gets lines for the step's output (what an operator reads in `show`).
    public static func perform(_ request: LinkRequest, say: (String) -> Void) -> LinkResult {
        if let check = request.check { return FileCheck.perform(check, say: say) }
        if let convert = request.convert { return FileConversion.perform(convert, say: say) }
        return LinkResult(failure: .init(errorClass: .exit, message: "not implemented yet"))
    }

    /// `check:` on its own (`renkeictl check-file`).
    public static func check(_ check: LinkRequest.Check, say: (String) -> Void) -> LinkResult { FileCheck.perform(check, say: say) }

    /// `convert:` on its own (`renkeictl convert-file`).
    public static func convert(_ convert: LinkRequest.Convert, say: (String) -> Void) -> LinkResult { FileConversion.perform(convert, say: say) }
}
