import Foundation
import PostgresNIO
import RenkeiCore

/// A slot the leader's scheduler decided on: a job's logical time, and whether it is to run
/// (`queued`) or was not run (`missed`, `skipped`, with the reason an operator reads).
public struct LedgerSlot: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case queued
        case missed(reason: String, errorClass: ErrorClass)
        case skipped(reason: String)

        var name: String {
            switch self {
            case .queued: "queued"
            case .missed: "missed"
            case .skipped: "skipped"
            }
        }
    }

    public var job: String
    /// Unix seconds, as the scheduler computes them and as SQLite stores them.
    public var logicalTime: Int64
    public var zone: String
    public var definitionHash: String
    public var outcome: Outcome
    /// `schedule`, or `catch-up` for a late slot the job's `catch_up` policy runs.
    public var trigger: Trigger = .schedule
    /// The job's steps (name, argv): the run's step rows, as SQLite's `enqueue` writes them.
    var steps: [RunRows.Step]

    public init(job: String, logicalTime: Int64, zone: String, definitionHash: String, outcome: Outcome) {
        self.job = job
        self.logicalTime = logicalTime
        self.zone = zone
        self.definitionHash = definitionHash
        self.outcome = outcome
        steps = []
    }

    /// A slot of `job` with its steps' rows.
    public init(_ job: Job, logicalTime: Int64, zone: String, outcome: Outcome) {
        self.init(job: job.name.rawValue, logicalTime: logicalTime, zone: zone, definitionHash: job.definitionHash, outcome: outcome)
        steps = RunRows.Step.of(job)
    }
}

/// What one pass of the leader's ledger wrote.
public struct LedgerEntry: Sendable, Equatable {
    /// Slots recorded now, each with its run (queued for any node to claim, or final at once).
    public var recorded: [(slot: LedgerSlot, runID: Int64)]
    /// Slots some leader had already recorded: nothing written for them (the primary key's answer).
    public var alreadyRecorded: [LedgerSlot]

    public static func == (lhs: LedgerEntry, rhs: LedgerEntry) -> Bool {
        lhs.recorded.map(\.slot) == rhs.recorded.map(\.slot) && lhs.recorded.map(\.runID) == rhs.recorded.map(\.runID)
            && lhs.alreadyRecorded == rhs.alreadyRecorded
    }
}

/// The slot ledger on PostgreSQL (issue 19, criterion 2): only the leader records slots, inside a
/// write fenced by its lease epoch, and advances each job's cursor; any node then claims the
/// queued runs (`RunClaims`). Two guards make a slot exactly once: the fence stops a deposed
/// leader, and if that ever failed the primary keys still do — `slot (job, logical_time)` and
/// the unique first scheduled attempt of `run` — so a second leader's copy is not written.
public enum SlotLedger {
    /// The newest slot recorded for `job`: where its next pass of the calendar starts. Nil for a
    /// job never scheduled on this store.
    public static func lastSlot(_ session: PostgresSession, job: String) async throws -> Int64? {
        let rows = try await session.run("SELECT last_slot FROM job_cursor WHERE job = \(job)", doing: "reading the last slot of \(job)")
        return try rows.first.map { try $0.decode(Int64.self) }
    }

    /// Records `slots` under the leader term `epoch` of `lease`, in one transaction: a slot row,
    /// its run (queued, or finished at once when missed or skipped) and the job's cursor, which
    /// never moves back. `.fenced` when the term is over: nothing is written.
    public static func record(_ slots: [LedgerSlot], _ session: PostgresSession, lease: LeaderLease,
                              epoch: Int64) async throws -> Fenced<LedgerEntry> {
        try await lease.fencedWrite(session, epoch: epoch, doing: "recording \(slots.count) slot(s)") {
            var entry = LedgerEntry(recorded: [], alreadyRecorded: [])
            for slot in slots {
                let claimed = try await session.run("""
                    INSERT INTO slot (job, logical_time, outcome, epoch) VALUES (\(slot.job), \(slot.logicalTime), \(slot.outcome.name), \(epoch))
                    ON CONFLICT DO NOTHING RETURNING 1
                    """, doing: "recording the slot \(slot.job) at \(slot.logicalTime)")
                guard !claimed.isEmpty else {
                    entry.alreadyRecorded.append(slot)
                    continue
                }
                // A first scheduled attempt already there (copied from SQLite, or written by a
                // leader whose fence failed) is the slot's run: no second one.
                guard let runID = try await insertRun(for: slot, session) else {
                    entry.alreadyRecorded.append(slot)
                    continue
                }
                entry.recorded.append((slot, runID))
                try await session.run("""
                    INSERT INTO job_cursor (job, last_slot, epoch) VALUES (\(slot.job), \(slot.logicalTime), \(epoch))
                    ON CONFLICT (job) DO UPDATE SET last_slot = GREATEST(job_cursor.last_slot, excluded.last_slot), epoch = excluded.epoch
                    """, doing: "advancing the cursor of \(slot.job)")
            }
            return entry
        }
    }

    /// The slot's run: attempt 1 of trigger `schedule`, as SQLite's store writes it. Nil when the
    /// slot's first scheduled attempt exists already (`run_one_scheduled_attempt`).
    private static func insertRun(for slot: LedgerSlot, _ session: PostgresSession) async throws -> Int64? {
        let state: String, errorClass: String?, message: String?
        switch slot.outcome {
        case .queued: (state, errorClass, message) = ("queued", nil, nil)
        case .missed(let reason, let error): (state, errorClass, message) = ("missed", error.rawValue, reason)
        case .skipped(let reason): (state, errorClass, message) = ("skipped", nil, reason)
        }
        let final = slot.outcome != .queued
        let rows = try await session.run("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             queued_at, finished_at, error_class, error_message)
            VALUES (\(slot.job), \(slot.logicalTime), \(slot.zone), \(slot.trigger.rawValue), 1, \(state), \(slot.definitionHash), '{}', '{}',
                    now(), CASE WHEN \(final) THEN now() END, \(errorClass), \(message))
            ON CONFLICT (job, logical_time) WHERE trigger IN ('schedule', 'catch-up') AND attempt = 1 DO NOTHING
            RETURNING id
            """, doing: "recording the run of slot \(slot.job) at \(slot.logicalTime)")
        guard let id = try rows.first?.decode(Int64.self) else { return nil }
        try await RunRows.insertSteps(slot.steps, runID: id, state: final ? "not_run" : "pending", session)
        return id
    }

    /// Where a job's pass starts the first time any leader sees it: its cursor set to `now`
    /// (Unix seconds), fenced, unless a cursor exists. Without it a leader that died before the
    /// job's first slot would leave its successor starting from its own, later, now: the slot
    /// between would be lost.
    public static func startCursor(job: String, at now: Int64, _ session: PostgresSession, lease: LeaderLease,
                                   epoch: Int64) async throws -> Fenced<Int64> {
        try await lease.fencedWrite(session, epoch: epoch, doing: "starting the cursor of \(job)") {
            try await session.run("""
                INSERT INTO job_cursor (job, last_slot, epoch) VALUES (\(job), \(now), \(epoch)) ON CONFLICT (job) DO NOTHING
                """, doing: "starting the cursor of \(job)")
            let rows = try await session.run("SELECT last_slot FROM job_cursor WHERE job = \(job)", doing: "reading the last slot of \(job)")
            return try rows[0].decode(Int64.self)
        }
    }

    /// The logical time of the job's run that is queued or running now, if any: what `overlap:
    /// skip` names when it skips a slot.
    public static func busyRun(_ session: PostgresSession, job: String) async throws -> (logicalTime: Int64, zone: String)? {
        let rows = try await session.run("""
            SELECT logical_time, logical_zone FROM run WHERE job = \(job) AND state IN ('queued', 'running') ORDER BY logical_time LIMIT 1
            """, doing: "reading the running run of \(job)")
        return try rows.first.map { try $0.decode((Int64, String).self) }
    }
}
