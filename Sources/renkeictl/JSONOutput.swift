import Foundation
import RenkeiCore
import RenkeiStore

/// The JSON form of a run for `history --json` and `show --json`; field names are stable.
struct RunJSON: Encodable {
    struct StepJSON: Encodable {
        var position: Int
        var name: String
        var state: String
        var command: [String]?
        var pid: Int32?
        var started_at: String?
        var finished_at: String?
        var exit_status: Int32?
        var signal: Int32?
        var error_class: String?
        var message: String?
        var stdout_bytes: Int64
        var stderr_bytes: Int64
        var stdout_tail: String
        var stderr_tail: String
    }

    struct FileJSON: Encodable {
        var step: String
        var direction: String
        var path: String
        var source: String?
        var bytes: Int64
        var sha256: String
        var modified_at: String?
        var records: Int64?
        var outcome: String
        var note: String?
        var recorded_at: String?
    }

    var id: Int64
    var job: String
    var logical_time: String
    var logical_date: String
    var timezone: String
    var trigger: String
    var attempt: Int
    var state: String
    var definition_hash: String
    var requested_by_uid: Int64?
    var requested_by: String?
    var reason: String?
    var rerun_of: Int64?
    var retry_of: Int64?
    var queued_at: String?
    var started_at: String?
    var finished_at: String?
    var exit_status: Int32?
    var signal: Int32?
    var error_class: String?
    var error_message: String?
    var failed_step: String?
    var resolved_by: Int64?
    var resolved_at: String?
    var work_directory: String?
    var environment: [String: String]?
    var steps: [StepJSON]?
    /// `show --json` only: every file the run's built-in steps received or delivered.
    var files: [FileJSON]?
    /// `show --json` only: every notification tried about the run.
    var notifications: [NotificationJSON]?

    struct NotificationJSON: Encodable {
        var at: String?
        var event: String
        var channel: String
        var recipients: String
        var result: String
        var message: String?
        var attempt: Int

        init(_ row: RunStore.NotificationRow) {
            at = RunSummary.isoTime(row.at)
            event = row.event
            channel = row.channel
            recipients = row.recipients
            result = row.result
            message = row.message
            attempt = row.attempt
        }
    }

    init(_ run: RunRecord) { self.init(run, steps: nil) }

    init(_ detail: RunDetail) {
        self.init(detail.run, steps: detail.steps)
        files = detail.files.map { file in
            FileJSON(step: file.step, direction: file.direction.rawValue, path: file.path, source: file.source, bytes: file.bytes,
                     sha256: file.sha256, modified_at: RunSummary.isoTime(file.modifiedAt), records: file.records,
                     outcome: file.outcome.rawValue, note: file.note, recorded_at: RunSummary.isoTime(file.recordedAt))
        }
    }

    init(_ run: RunRecord, steps: [StepRecord]?) {
        id = run.id!
        job = run.job
        logical_time = run.logical.iso8601
        logical_date = run.logical.date
        timezone = run.logicalZone
        trigger = run.trigger.rawValue
        attempt = run.attempt
        state = run.state.rawValue
        definition_hash = run.definitionHash
        requested_by_uid = run.requestedByUid
        requested_by = run.requestedByUser
        reason = run.reason
        rerun_of = run.rerunOf
        retry_of = run.retryOf
        queued_at = RunSummary.isoTime(run.queuedAt)
        started_at = RunSummary.isoTime(run.startedAt)
        finished_at = RunSummary.isoTime(run.finishedAt)
        exit_status = run.exitStatus
        signal = run.signal
        error_class = run.errorClass?.rawValue
        error_message = run.errorMessage
        failed_step = run.failedStep
        resolved_by = run.resolvedBy
        resolved_at = RunSummary.isoTime(run.resolvedAt)
        work_directory = run.workDirectory
        if steps != nil {
            environment = try? JSONDecoder().decode([String: String].self, from: Data(run.environment.utf8))
        }
        self.steps = steps?.map { step in
            StepJSON(
                position: step.position, name: step.name, state: step.state.rawValue,
                command: JSONOutput.decodeArguments(step.command), pid: step.pid,
                started_at: RunSummary.isoTime(step.startedAt), finished_at: RunSummary.isoTime(step.finishedAt),
                exit_status: step.exitStatus, signal: step.signal, error_class: step.errorClass?.rawValue, message: step.message,
                stdout_bytes: step.stdoutBytes, stderr_bytes: step.stderrBytes,
                stdout_tail: String(decoding: step.stdoutTail, as: UTF8.self), stderr_tail: String(decoding: step.stderrTail, as: UTF8.self)
            )
        }
    }
}

enum JSONOutput {
    static func encode<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decodeArguments(_ text: String) -> [String]? {
        try? JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}
