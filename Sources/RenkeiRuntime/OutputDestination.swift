import Foundation
import Logging
import RenkeiCore
import RenkeiStore
import RenkeiSystemd

/// Where job output lines go: to the journal as they come, tagged with the job name as
/// `SYSLOG_IDENTIFIER` and the run's fields (stderr at warning priority, stdout at info), through a
/// queue of their own; or, with no journal, to standard error as `job[step]: line`.
public struct OutputDestination: Sendable {
    public let sink: @Sendable (RunRecord, String, RenkeiCore.OutputStream, [UInt8]) -> Void

    /// Sends everything still queued (a short-lived `renkeictl run --local` calls this before exiting).
    public let flush: @Sendable () -> Void

    public static func journal(logger: Logger) -> OutputDestination {
        let forwarder = OutputForwarder { key, count in
            logger.event(.outputDropped, .warning, "\(key): \(count) output line(s) were not sent to the journal (it could not keep up); the run's stored tail has the end (renkeictl show)")
        }
        return OutputDestination(sink: { run, step, stream, line in
            let fields = [
                Journal.Field("MESSAGE", bytes: line),
                Journal.Field("PRIORITY", stream == .stderr ? "4" : "6"),
                Journal.Field("SYSLOG_IDENTIFIER", run.job),
                Journal.Field(EventField.job, run.job),
                Journal.Field(EventField.runID, String(run.id ?? 0)),
                Journal.Field(EventField.step, step),
                Journal.Field(EventField.attempt, String(run.attempt)),
                Journal.Field(EventField.trigger, run.trigger.rawValue),
                Journal.Field(EventField.logicalTime, run.logical.iso8601),
                Journal.Field("RENKEI_STREAM", stream.rawValue),
            ]
            forwarder.enqueue(.init(fields: fields, key: "\(run.job) run \(run.id ?? 0)"))
        }, flush: { forwarder.flush() })
    }

    public static let console = OutputDestination(sink: { run, step, _, line in
        // A step's ESC sequences and CRs are shown, not obeyed, on the operator's terminal.
        FileHandle.standardError.write(Data("\(run.job)[\(step)]: \(SafeText.visible(String(decoding: line, as: UTF8.self)))\n".utf8))
    }, flush: {})
}
