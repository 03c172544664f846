import Glibc
import RenkeiCore

/// Why a link step did not do what it was asked, in the words of the operator who reads it at
/// 06:45: what happened, where, and what to do next. Becomes the step's `LinkResult.Failure`.
struct StepFailure: Error {
    var errorClass: ErrorClass
    var message: String

    static func exit(_ message: String) -> StepFailure { StepFailure(errorClass: .exit, message: message) }
    static func late(_ message: String) -> StepFailure { StepFailure(errorClass: .late, message: message) }

    var result: LinkResult.Failure { LinkResult.Failure(errorClass: errorClass, message: message) }
}

/// A system call that failed: what Renkei was doing, on which path, and the system's reason.
struct SystemError: Error, CustomStringConvertible {
    /// The errno.
    var code: Int32
    /// What was being done, as a verb phrase: "open", "read", "rename .x.renkei-tmp to".
    var action: String
    var path: String

    var reason: String { String(cString: strerror(code)) }
    var description: String { "cannot \(action) \(path): \(reason)" }

    /// Errors that mean the file system could not take the data: the operator must make room (or
    /// look at the disk), not change the job.
    var isStorageFull: Bool { code == ENOSPC || code == EDQUOT }
    var isStorageProblem: Bool { isStorageFull || code == EIO }

    /// The last errno, for the call that just failed.
    static func last(_ action: String, _ path: String) -> SystemError { SystemError(code: errno, action: action, path: path) }
}

extension StepFailure {
    /// A write that failed. A full disk, a used-up quota and an I/O error get a message that says
    /// which file system and what to do; anything else the system's own words. The caller has
    /// already removed what it wrote.
    static func writing(_ error: SystemError, name: String, into directory: String, written: Int64? = nil, of total: Int64? = nil) -> StepFailure {
        var progress = ""
        if let written {
            progress = total.map { ": \(OperatorText.size(written)) of \(OperatorText.size($0)) written" } ?? ": \(OperatorText.size(written)) written"
        }
        let nothingLeft = "nothing of it was left there"
        switch error.code {
        case ENOSPC:
            return .exit("no space left on \(directory) (device full) while writing \(name)\(progress); \(nothingLeft). Free space there and rerun")
        case EDQUOT:
            return .exit("the disk quota on \(directory) is used up while writing \(name)\(progress); \(nothingLeft). Free space there or have the quota raised, and rerun")
        case EIO:
            return .exit("input/output error on \(directory) while writing \(name)\(progress); \(nothingLeft). The disk or the network file system failed: look at 'journalctl -k', then rerun")
        default:
            return .exit("\(error) (while writing \(name)); \(nothingLeft)")
        }
    }
}
