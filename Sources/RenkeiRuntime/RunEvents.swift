import Foundation
import Logging
import RenkeiCore
import RenkeiStore

extension Logger {
    /// Logs one Renkei event: its `MESSAGE_ID`, the message, and `RENKEI_*` fields.
    public func event(_ kind: EventKind, _ level: Logger.Level, _ message: String, _ fields: [String: String] = [:],
                      file: String = #fileID, function: String = #function, line: UInt = #line) {
        var metadata: Logger.Metadata = [EventField.messageID: .string(kind.messageID)]
        for (key, value) in fields { metadata[key] = .string(value) }
        log(level: level, "\(message)", metadata: metadata, source: nil, file: file, function: function, line: line)
    }
}

/// The journal events of a run's life, worded for the operator who reads them at 06:45 and
/// carrying the fields monitoring filters on. Shared by renkeid and `renkeictl run --local`.
public struct RunEvents: Sendable {
    public let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The fields of a run, as SPEC names them.
    public static func fields(_ run: RunRecord) -> [String: String] {
        var fields = [
            EventField.job: run.job, EventField.attempt: String(run.attempt), EventField.trigger: run.trigger.rawValue,
            EventField.logicalTime: run.logical.iso8601, EventField.state: run.state.rawValue,
        ]
        if let id = run.id { fields[EventField.runID] = String(id) }
        if let errorClass = run.errorClass { fields[EventField.errorClass] = errorClass.rawValue }
        if let status = run.exitStatus { fields[EventField.exitStatus] = String(status) }
        if let step = run.failedStep { fields[EventField.step] = step }
        if let user = run.requestedByUser { fields[EventField.requestedBy] = user }
        return fields
    }

    /// `2026-11-27 06:30` in the run's zone.
    static func short(_ time: LogicalTime) -> String {
        String(time.iso8601.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// `attempt 1 of 3` (retries allowed + 1); `attempt 1` for a run that is never retried
    /// (an operator's `run` or `rerun`: the operator is there to decide what comes next).
    static func attempts(_ run: RunRecord, _ job: Job?) -> String {
        isRetried(run) ? "attempt \(run.attempt) of \((job?.retry?.limit ?? 0) + 1)" : "attempt \(run.attempt)"
    }

    /// Whether a failure of `run` can be retried automatically: the scheduler retries scheduled,
    /// caught-up and retried runs only.
    static func isRetried(_ run: RunRecord) -> Bool {
        run.trigger == .schedule || run.trigger == .catchUp || run.trigger == .retry
    }

    /// Sent once the run's row is committed, as it begins: its state is `running` from here on,
    /// though the row says `queued` until the run's work directory is ready a moment later.
    public func started(_ run: RunRecord, job: Job?) {
        let who = run.requestedByUser.map { ", asked by \($0)" } ?? ""
        var fields = Self.fields(run)
        fields[EventField.state] = RunState.running.rawValue
        logger.event(.runStarted, .info, "\(run.job) run \(run.id!) started for \(Self.short(run.logical)) (\(run.trigger.rawValue), \(Self.attempts(run, job))\(who))",
                     fields)
    }

    /// `retryAt`: when the next attempt runs, if one was scheduled.
    public func ended(_ run: RunRecord, job: Job?, retryAt: LogicalTime?) {
        let took = run.startedAt.flatMap { start in run.finishedAt.map { String(format: "%.1fs", $0.timeIntervalSince(start)) } } ?? "?"
        let kind = EventKind.runEnded(run.state)
        var fields = Self.fields(run)
        let base = "\(run.job) run \(run.id!)"
        switch run.state {
        case .succeeded:
            logger.event(kind, .info, "\(base) succeeded in \(took) (for \(Self.short(run.logical)), \(Self.attempts(run, job)))", fields)
        case .cancelled:
            logger.event(kind, .notice, "\(base) was cancelled: \(run.errorMessage ?? "")", fields)
        default:
            let error = (run.errorMessage ?? run.state.rawValue).replacingOccurrences(of: "step \(run.failedStep ?? "")\u{3a} ", with: "")
            let place = run.failedStep.map { " in step \($0)" } ?? ""
            let verb = run.state == .timedOut ? "timed out" : (run.state == .interrupted ? "was interrupted" : "failed")
            var next: String
            if let retryAt {
                next = "retry at \(String(retryAt.iso8601.dropFirst(11).prefix(8)))"
            } else {
                let why = Self.isRetried(run) ? "no retry left" : "\(run.trigger.rawValue) runs are not retried"
                next = "\(why): see renkeictl show \(run.id!), fix the cause, then renkeictl rerun \(run.id!)"
            }
            fields[EventField.state] = run.state.rawValue
            logger.event(kind, .error, "\(base) \(verb)\(place): \(error) (\(Self.attempts(run, job)), \(next))", fields)
        }
    }

    /// A file a built-in step received or delivered, or refused to.
    public func file(_ file: LinkFile, step: String, of run: RunRecord) {
        var fields = Self.fields(run)
        fields[EventField.state] = RunState.running.rawValue
        fields[EventField.step] = step
        fields[EventField.file] = file.path
        fields[EventField.fileSHA256] = file.sha256
        fields[EventField.bytes] = String(file.bytes)
        fields[EventField.fileOutcome] = file.outcome.rawValue
        let base = "\(run.job) run \(run.id!) step \(step)"
        let size = "\(file.bytes) bytes, sha256 \(file.sha256.prefix(12))…"
        let note = file.note.map { " (\($0))" } ?? ""
        switch file.outcome {
        case .received, .receivedDuplicate:
            logger.event(.fileReceived, .info, "\(base): received \(file.source ?? file.path) as \(file.path), \(size)\(note)", fields)
        case .delivered, .alreadyDelivered:
            let verb = file.outcome == .delivered ? "delivered" : "did not write"
            logger.event(.fileDelivered, .info, "\(base): \(verb) \(file.path), \(size)\(note)", fields)
        case .duplicate, .refused:
            logger.event(.fileRefused, .warning, "\(base): refused \(file.path), \(size)\(note)", fields)
        case .checked, .failedCheck:
            let records = file.records.map { ", \($0) records" } ?? ""
            let verdict = file.outcome == .checked ? "checked" : "found problems in"
            logger.event(.fileChecked, file.outcome == .checked ? .info : .error, "\(base): \(verdict) \(file.path), \(size)\(records)\(note)", fields)
        case .converted:
            logger.event(.fileConverted, .info, "\(base): converted \(file.source ?? "?") into \(file.path), \(size)\(note)", fields)
        }
    }
}
