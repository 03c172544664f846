import Foundation
import PostgresNIO
import RenkeiCore

/// Rows every new run on PostgreSQL gets, whoever makes it (the leader's slot, an automatic
/// retry): one `step` row per step of the job, as SQLite's `enqueue` writes them, and the argv
/// text both stores hold.
enum RunRows {
    /// A step as a new run's row knows it: its name and the argv it would run.
    struct Step: Sendable, Equatable {
        var name: String
        var command: [String]
    }

    /// One row per step, `state` each (`pending` for a run to come, `not_run` for a missed slot).
    static func insertSteps(_ steps: [Step], runID: Int64, state: String, _ session: PostgresSession) async throws {
        for (position, step) in steps.enumerated() {
            try await session.run("""
                INSERT INTO step (run_id, position, name, state, command, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes)
                VALUES (\(runID), \(position), \(step.name), \(state), \(jsonText(step.command)), \(Data()), \(Data()), 0, 0)
                """, doing: "recording step \(step.name) of run \(runID)")
        }
    }

    /// JSON as the SQLite store encodes it (sorted keys, slashes unescaped): the same text on both stores.
    static func jsonText<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// Queues the next automatic attempt of run `failed` (trigger `schedule`, `catch-up` or
    /// `retry`, ended in a failure) when `policy` has one left, due `wait` seconds after the
    /// database's `now()` and never before `notBefore`. At most one retry per attempt
    /// (`run_one_retry`): a second caller queues nothing; a held job gets none. Returns the new run's id.
    static func queueRetry(of failed: Int64, policy: RetryPolicy?, steps: [Step], notBefore: Date? = nil,
                           _ session: PostgresSession) async throws -> Int64? {
        guard let policy else { return nil }
        let rows = try await session.run("""
            SELECT attempt FROM run WHERE id = \(failed) AND trigger IN ('schedule', 'catch-up', 'retry')
              AND state IN ('failed', 'timed_out', 'interrupted') AND resolved_by IS NULL
            """, doing: "reading run \(failed) for its retry")
        guard let attempt = try rows.first?.decode(Int.self), attempt <= policy.limit else { return nil }
        let wait = policy.delay(beforeRetry: attempt).seconds
        let inserted = try await session.run("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             retry_of, queued_at, not_before)
            SELECT job, logical_time, logical_zone, 'retry', attempt + 1, 'queued', definition_hash, '{}', '{}', id, now(),
                   greatest(now() + \(wait) * interval '1 second', coalesce(\(notBefore), now()))
            FROM run WHERE id = \(failed)
              -- A held job's automatic runs are not started, as on one machine (its retry included).
              AND NOT EXISTS (SELECT 1 FROM hold h WHERE h.job = run.job AND (h."until" IS NULL OR h."until" > now()))
            ON CONFLICT (retry_of) WHERE trigger = 'retry' DO NOTHING
            RETURNING id
            """, doing: "queueing the retry of run \(failed)")
        guard let id = try inserted.first?.decode(Int64.self) else { return nil }
        try await insertSteps(steps, runID: id, state: "pending", session)
        return id
    }
}

extension RunRows.Step {
    /// The job's steps as new rows name them.
    static func of(_ job: Job) -> [RunRows.Step] {
        job.steps.map { RunRows.Step(name: $0.name, command: $0.command.arguments) }
    }
}

extension QueuedRun.Step {
    /// A job's steps as a queued run's rows keep them (`pending`, the argv as SQLite writes it).
    public static func all(of job: Job) -> [QueuedRun.Step] {
        RunRows.Step.of(job).map { QueuedRun.Step(name: $0.name, command: RunRows.jsonText($0.command)) }
    }
}
