import Foundation
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// An operator's request made on one node's control socket (`renkeictl run`, `rerun`, `cancel`,
/// `hold`, `release`), written as a `request` row so that the node able to act on it does:
/// the leader queues runs and changes holds, the node that runs a run cancels it.
public struct ClusterRequest: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case run, rerun, cancel, hold, release
    }

    public var kind: Kind
    public var job: String
    /// The run a `rerun` repeats or a `cancel` stops; nil for the other kinds.
    public var runID: Int64?
    /// A manual run's logical time (Unix seconds); nil: the leader's renkeid picks it, as
    /// `renkeictl run` without a time does on one node.
    public var logicalTime: Int64?
    /// A manual run's parameters, as the JSON object the run row keeps.
    public var parameters: String
    public var reason: String?
    /// Who asked, as the origin node's control socket saw them (SO_PEERCRED).
    public var requestedByUid: Int64
    public var requestedByUser: String
    /// The incarnation of the node whose socket received the request.
    public var originNode: UUID

    public init(kind: Kind, job: String, runID: Int64? = nil, logicalTime: Int64? = nil, parameters: String = "{}",
                reason: String? = nil, requestedByUid: Int64, requestedByUser: String, originNode: UUID) {
        self.kind = kind
        self.job = job
        self.runID = runID
        self.logicalTime = logicalTime
        self.parameters = parameters
        self.reason = reason
        self.requestedByUid = requestedByUid
        self.requestedByUser = requestedByUser
        self.originNode = originNode
    }

    /// How an operator names it: `rerun of run 7 (juki-to-fukushi)`.
    public var summary: String {
        switch kind {
        case .run: "run of \(job)"
        case .rerun: "rerun of run \(runID.map(String.init) ?? "?") (\(job))"
        case .cancel: "cancel of run \(runID.map(String.init) ?? "?") (\(job))"
        case .hold: "hold of \(job)"
        case .release: "release of \(job)"
        }
    }
}

/// A request one node has taken: only that node may complete or refuse it.
public struct TakenRequest: Sendable, Equatable {
    public var id: Int64
    public var request: ClusterRequest
    public var requestedAt: Date
    public var takenBy: UUID
}

/// Where a request is, as its requester reads it.
public struct RequestStatus: Sendable, Equatable, CustomStringConvertible {
    public enum State: String, Sendable {
        case pending, taken, done, refused
    }

    public var id: Int64
    public var kind: ClusterRequest.Kind
    public var job: String
    public var runID: Int64?
    public var state: State
    /// The node that took it (its `--node-name`), once taken.
    public var takenByName: String?
    public var outcome: String?
    /// The run a `run` or `rerun` queued.
    public var resultRunID: Int64?

    public var isFinished: Bool { state == .done || state == .refused }

    public var description: String {
        let node = takenByName.map { "node \($0)" } ?? "no node"
        switch state {
        case .pending: return "request \(id) is pending: no node has taken it yet"
        case .taken: return "request \(id) was taken by \(node), which has not finished it yet"
        case .done: return "request \(id) done by \(node): \(outcome ?? "")"
        case .refused: return "request \(id) refused by \(node): \(outcome ?? "")"
        }
    }
}

/// What `ClusterRequests.wait` came to.
public enum RequestWait: Sendable, Equatable, CustomStringConvertible {
    case finished(RequestStatus)
    /// Nobody finished it in time. The request stays: it is still acted on when a node takes it.
    case timedOut(RequestStatus, after: Duration)

    public var description: String {
        switch self {
        case .finished(let status): return status.description
        case .timedOut(let status, let after):
            let who = status.kind == .cancel
                ? "a cancel is taken by the node running the run, or by the leader while it is queued"
                : "a \(status.kind.rawValue) is taken by the leader"
            let seconds = after.components.seconds
            if status.state == .taken {
                return "request \(status.id) (\(status.kind.rawValue) \(status.job)) not finished after \(seconds) s: node \(status.takenByName ?? "?") took it and is still at it; it stays in the database and is finished when that node is done (or given to another node if it is declared dead); check with renkeictl status --store URL"
            }
            return "request \(status.id) (\(status.kind.rawValue) \(status.job)) still pending after \(seconds) s: no node has taken it (\(who)); it stays in the database and is acted on when a node takes it; check that a leader is alive with renkeictl status --store URL, or withdraw it"
        }
    }
}

/// The leader's answer to a `run` or `rerun` (it knows the job definitions), or a refusal of any kind.
public enum LeaderDecision: Sendable, Equatable {
    /// Queue this run: one more queued row any node then claims.
    case queue(QueuedRun)
    /// For `cancel`, `hold`, `release`: do it (ClusterRequests knows how).
    case act
    /// Refuse, saying why in the operator's words.
    case refuse(String)
}

/// A run the leader queues for a request: what only renkeid knows (the job's definition, the
/// steps a rerun skips).
public struct QueuedRun: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var name: String
        /// The argv as the JSON array the step row keeps.
        public var command: String
        /// `pending`, or `reused` / `not_run` for the steps a rerun skips.
        public var state: StepState

        public init(name: String, command: String, state: StepState = .pending) {
            self.name = name
            self.command = command
            self.state = state
        }
    }

    public var job: String
    public var logicalTime: Int64
    public var zone: String
    public var trigger: Trigger
    public var attempt: Int
    public var definitionHash: String
    public var parameters: String
    public var rerunOf: Int64?
    public var steps: [Step]

    public init(job: String, logicalTime: Int64, zone: String, trigger: Trigger, attempt: Int = 1, definitionHash: String,
                parameters: String = "{}", rerunOf: Int64? = nil, steps: [Step]) {
        self.job = job
        self.logicalTime = logicalTime
        self.zone = zone
        self.trigger = trigger
        self.attempt = attempt
        self.definitionHash = definitionHash
        self.parameters = parameters
        self.rerunOf = rerunOf
        self.steps = steps
    }
}

/// What one pass of the leader over the requests did.
public struct LeaderHandling: Sendable, Equatable {
    public var request: TakenRequest
    /// After the pass: done or refused, or pending again when a cancelled run had started
    /// meanwhile (its owner now takes the cancel).
    public var status: RequestStatus
}

/// A request that cannot be written as asked (a missing run id…), naming the argument.
public struct ClusterRequestProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// Operators' requests as rows any node acts on (issue 19, criterion 4). Routing:
///
/// - `run`, `rerun`, `hold`, `release`: the leader, inside its fenced write (`actAsLeader`), so a
///   deposed leader takes nothing; a run or rerun becomes one more queued run any node claims.
/// - `cancel` of a `running` run: only the node that owns it (`run.owner_node`), which stops its
///   steps; `takeNext` marks the run's `cancel_requested_at` as it takes it.
/// - `cancel` of any other run (queued, waiting, or already ended): the leader, which cancels a
///   queued or waiting run at once and refuses one that has ended.
///
/// A request a node took and then died with goes back to `pending` (`requeueTakenByDeadNodes`).
public enum ClusterRequests {
    /// The kinds the leader takes.
    public static let leaderKinds: Set<ClusterRequest.Kind> = [.run, .rerun, .cancel, .hold, .release]

    /// Writes the request as `pending` and returns its id. `inTransaction` runs in the same
    /// transaction with that id (the caller appends the audit row there): both commit or neither.
    public static func submit(_ request: ClusterRequest, _ session: PostgresSession,
                              inTransaction: (PostgresSession, Int64) async throws -> Void = { _, _ in }) async throws -> Int64 {
        let needsRun = request.kind == .rerun || request.kind == .cancel
        if needsRun && request.runID == nil {
            throw ClusterRequestProblem(description: "a \(request.kind.rawValue) request needs the run id (renkeictl \(request.kind.rawValue) RUN-ID)")
        }
        if !needsRun && request.runID != nil {
            throw ClusterRequestProblem(description: "a \(request.kind.rawValue) request names a job, not a run (got run \(request.runID!))")
        }
        return try await session.transaction(doing: "writing the \(request.summary) request") {
            let rows = try await session.run("""
                INSERT INTO request (kind, job, run_id, logical_time, parameters, reason, requested_by_uid, requested_by_user, origin_node)
                VALUES (\(request.kind.rawValue), \(request.job), \(request.runID), \(request.logicalTime), \(request.parameters),
                        \(request.reason), \(request.requestedByUid), \(request.requestedByUser), \(request.originNode))
                RETURNING id
                """, doing: "writing the \(request.summary) request")
            let id = try rows[0].decode(Int64.self)
            try await inTransaction(session, id)
            return id
        }
    }

    /// Takes the oldest pending request of `kinds` that `node` may act on, skipping rows another
    /// taker has locked. Without `leading`, only cancels of runs `node` is running; with it, also
    /// the leader's kinds — pass `leading: true` only inside `LeaderLease.fencedWrite` (as
    /// `actAsLeader` does). A node declared dead takes nothing. Nil: nothing to take.
    public static func takeNext(_ session: PostgresSession, node: UUID, kinds: Set<ClusterRequest.Kind>,
                                leading: Bool = false) async throws -> TakenRequest? {
        let names = kinds.map(\.rawValue).sorted()
        let rows = try await session.run("""
            WITH next AS (
              SELECT q.id, q.kind, q.run_id FROM request q LEFT JOIN run r ON r.id = q.run_id
              WHERE q.state = 'pending' AND q.kind = ANY(\(names))
                AND EXISTS (SELECT 1 FROM node WHERE incarnation = \(node) AND state = 'alive')
                AND ((q.kind = 'cancel' AND r.state = 'running' AND r.owner_node = \(node))
                     OR (\(leading) AND (q.kind <> 'cancel' OR r.state IS DISTINCT FROM 'running')))
              ORDER BY q.id LIMIT 1 FOR UPDATE OF q SKIP LOCKED),
            marked AS (
              UPDATE run SET cancel_requested_at = coalesce(cancel_requested_at, now())
              FROM next WHERE run.id = next.run_id AND next.kind = 'cancel' AND run.state = 'running' AND run.owner_node = \(node))
            UPDATE request q SET state = 'taken', taken_by = \(node), taken_at = now()
            FROM next WHERE q.id = next.id
            RETURNING q.id, q.kind, q.job, q.run_id, q.logical_time, q.parameters, q.reason, q.requested_by_uid,
                      q.requested_by_user, q.origin_node, q.requested_at
            """, doing: "taking an operator's request")
        return try rows.first.map { row in
            let (id, kind, job, runID, logicalTime, parameters, reason, uid, user, origin, requestedAt) =
                try row.decode((Int64, String, String, Int64?, Int64?, String, String?, Int64, String, UUID, Date).self)
            guard let kind = ClusterRequest.Kind(rawValue: kind) else {
                throw ClusterRequestProblem(description: "request \(id) has the unknown kind '\(kind)'")
            }
            let request = ClusterRequest(kind: kind, job: job, runID: runID, logicalTime: logicalTime, parameters: parameters,
                                         reason: reason, requestedByUid: uid, requestedByUser: user, originNode: origin)
            return TakenRequest(id: id, request: request, requestedAt: requestedAt, takenBy: node)
        }
    }

    /// The leader's pass: in one transaction fenced by its term `epoch`, takes the next request
    /// of `kinds` it acts on, asks `decide` (which knows the jobs), writes the result — a queued
    /// run, a cancelled run, a hold — and finishes the request; `inTransaction` then runs in the
    /// same transaction (the audit row). `.fenced`: the term is over and nothing was taken.
    /// `.written(nil)`: nothing to take.
    public static func actAsLeader(_ session: PostgresSession, lease: LeaderLease, epoch: Int64,
                                   kinds: Set<ClusterRequest.Kind> = leaderKinds,
                                   decide: (TakenRequest) async throws -> LeaderDecision,
                                   inTransaction: (PostgresSession, LeaderHandling) async throws -> Void = { _, _ in })
        async throws -> Fenced<LeaderHandling?> {
        try await lease.fencedWrite(session, epoch: epoch, doing: "acting on operators' requests") {
            guard let taken = try await takeNext(session, node: lease.holder, kinds: kinds, leading: true) else { return nil }
            let decision = try await decide(taken)
            switch (taken.request.kind, decision) {
            case (_, .refuse(let reason)):
                try await finish(taken, .refused, outcome: reason, resultRun: nil, session)
            case (.run, .queue(let run)), (.rerun, .queue(let run)):
                try await queue(run, for: taken, session)
            case (.cancel, .act):
                try await cancel(taken, session)
            case (.hold, .act):
                try await hold(taken, session)
            case (.release, .act):
                try await release(taken, session)
            case (let kind, let decision):
                try await finish(taken, .refused, outcome: "renkeid could not act on this \(kind.rawValue) request (it answered \(decision)); report this as a bug", resultRun: nil, session)
            }
            guard let status = try await status(taken.id, session) else {
                throw ClusterRequestProblem(description: "request \(taken.id) disappeared while the leader acted on it")
            }
            let handling = LeaderHandling(request: taken, status: status)
            try await inTransaction(session, handling)
            return handling
        }
    }

    /// Records that the taker did what `taken` asked. False: the request is no longer this
    /// taker's (it was declared dead and the request given back): nothing was written.
    @discardableResult
    public static func complete(_ taken: TakenRequest, outcome: String, resultRun: Int64? = nil, _ session: PostgresSession,
                                inTransaction: (PostgresSession) async throws -> Void = { _ in }) async throws -> Bool {
        try await session.transaction(doing: "finishing request \(taken.id)") {
            let written = try await finish(taken, .done, outcome: outcome, resultRun: resultRun, session)
            if written { try await inTransaction(session) }
            return written
        }
    }

    /// Records that the taker refuses `taken`, saying why. False as for `complete`.
    @discardableResult
    public static func refuse(_ taken: TakenRequest, reason: String, _ session: PostgresSession,
                              inTransaction: (PostgresSession) async throws -> Void = { _ in }) async throws -> Bool {
        try await session.transaction(doing: "refusing request \(taken.id)") {
            let written = try await finish(taken, .refused, outcome: reason, resultRun: nil, session)
            if written { try await inTransaction(session) }
            return written
        }
    }

    /// Withdraws a request nobody has taken yet (its requester gave up waiting): recorded as
    /// refused by `node`. False: a node took it already, and it will be acted on.
    @discardableResult
    public static func withdraw(_ id: Int64, node: UUID, _ session: PostgresSession) async throws -> Bool {
        let rows = try await session.run("""
            UPDATE request SET state = 'refused', taken_by = \(node), taken_at = now(), done_at = now(),
              outcome = 'withdrawn by its requester before any node took it'
            WHERE id = \(id) AND state = 'pending' RETURNING id
            """, doing: "withdrawing request \(id)")
        return !rows.isEmpty
    }

    /// Where request `id` is; nil when there is no such request.
    public static func status(_ id: Int64, _ session: PostgresSession) async throws -> RequestStatus? {
        let rows = try await session.run("""
            SELECT q.kind, q.job, q.run_id, q.state, n.node_name, q.outcome, q.result_run_id
            FROM request q LEFT JOIN node n ON n.incarnation = q.taken_by WHERE q.id = \(id)
            """, doing: "reading request \(id)")
        return try rows.first.map { row in
            let (kind, job, runID, state, takenBy, outcome, resultRun) = try row.decode((String, String, Int64?, String, String?, String?, Int64?).self)
            guard let kind = ClusterRequest.Kind(rawValue: kind), let state = RequestStatus.State(rawValue: state) else {
                throw ClusterRequestProblem(description: "request \(id) has an unknown kind or state (\(kind), \(state))")
            }
            return RequestStatus(id: id, kind: kind, job: job, runID: runID, state: state, takenByName: takenBy,
                                 outcome: outcome, resultRunID: resultRun)
        }
    }

    /// Polls request `id` every `every` until it is done or refused, or `timeout` has passed (on
    /// this machine's monotonic clock: it only bounds the requester's wait, it decides nothing).
    public static func wait(_ id: Int64, _ session: PostgresSession, timeout: Duration,
                            every: Duration = .milliseconds(200)) async throws -> RequestWait {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            guard let status = try await status(id, session) else {
                throw ClusterRequestProblem(description: "there is no request \(id) in \(session.address)")
            }
            if status.isFinished { return .finished(status) }
            if clock.now >= deadline { return .timedOut(status, after: timeout) }
            try await Task.sleep(for: min(every, deadline - clock.now))
        }
    }

    /// Gives every request taken by a node now `dead` back to `pending`, for another node to
    /// take; returns their ids. For the leader's reaper, after it declared nodes dead (inside
    /// its fenced write: a deposed leader hands nothing back).
    @discardableResult
    public static func requeueTakenByDeadNodes(_ session: PostgresSession) async throws -> [Int64] {
        let rows = try await session.run("""
            UPDATE request SET state = 'pending', taken_by = NULL, taken_at = NULL
            WHERE state = 'taken' AND taken_by IN (SELECT incarnation FROM node WHERE state = 'dead')
            RETURNING id
            """, doing: "giving back the requests of dead nodes")
        return try rows.map { try $0.decode(Int64.self) }.sorted()
    }

    // MARK: - The leader's actions, inside its fenced transaction

    @discardableResult
    private static func finish(_ taken: TakenRequest, _ state: RequestStatus.State, outcome: String, resultRun: Int64?,
                               _ session: PostgresSession) async throws -> Bool {
        let rows = try await session.run("""
            UPDATE request SET state = \(state.rawValue), done_at = now(), outcome = \(outcome), result_run_id = \(resultRun)
            WHERE id = \(taken.id) AND state = 'taken' AND taken_by = \(taken.takenBy) RETURNING id
            """, doing: "finishing request \(taken.id)")
        return !rows.isEmpty
    }

    private static func queue(_ run: QueuedRun, for taken: TakenRequest, _ session: PostgresSession) async throws {
        // One live attempt per job and logical time (the memo's run_one_live_attempt, checked by
        // the one leader rather than an index, which would change what SQLite's reruns may do).
        let live = try await session.run("""
            SELECT id, state FROM run WHERE job = \(run.job) AND logical_time = \(run.logicalTime)
              AND state IN ('queued', 'waiting', 'running') ORDER BY id LIMIT 1
            """, doing: "looking for a live run of \(run.job)")
        if let row = live.first {
            let (id, state) = try row.decode((Int64, String).self)
            try await finish(taken, .refused, outcome: "run \(id) of \(run.job) for the same logical time is still \(state): wait for it to end (renkeictl show \(id)) or cancel it first (renkeictl cancel \(id))", resultRun: nil, session)
            return
        }
        let request = taken.request
        let inserted = try await session.run("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             requested_by_uid, requested_by_user, reason, rerun_of, queued_at)
            VALUES (\(run.job), \(run.logicalTime), \(run.zone), \(run.trigger.rawValue), \(run.attempt), 'queued', \(run.definitionHash),
                    '{}', \(run.parameters), \(request.requestedByUid), \(request.requestedByUser), \(request.reason), \(run.rerunOf), now())
            RETURNING id
            """, doing: "queueing the run of request \(taken.id)")
        let runID = try inserted[0].decode(Int64.self)
        for (position, step) in run.steps.enumerated() {
            try await session.run("""
                INSERT INTO step (run_id, position, name, state, command, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes)
                VALUES (\(runID), \(position), \(step.name), \(step.state.rawValue), \(step.command), ''::bytea, ''::bytea, 0, 0)
                """, doing: "queueing step \(step.name) of run \(runID)")
        }
        let what = run.rerunOf.map { "rerun of run \($0)" } ?? "manual run"
        try await finish(taken, .done, outcome: "queued run \(runID) (\(what) of \(run.job)); the first node with a free slot starts it (renkeictl show \(runID))", resultRun: runID, session)
    }

    private static func cancel(_ taken: TakenRequest, _ session: PostgresSession) async throws {
        let runID = taken.request.runID!
        let rows = try await session.run("SELECT state FROM run WHERE id = \(runID) FOR UPDATE", doing: "reading run \(runID) to cancel it")
        guard let state = try rows.first?.decode(String.self) else {
            try await finish(taken, .refused, outcome: "there is no run \(runID)", resultRun: nil, session)
            return
        }
        switch state {
        case "queued", "waiting":
            try await session.run("""
                UPDATE run SET state = 'cancelled', finished_at = now(), cancel_requested_at = now(),
                  error_message = \("cancelled by \(taken.request.requestedByUser) before it started")
                WHERE id = \(runID)
                """, doing: "cancelling run \(runID)")
            try await session.run("UPDATE step SET state = 'not_run' WHERE run_id = \(runID) AND state = 'pending'",
                                  doing: "cancelling the steps of run \(runID)")
            try await finish(taken, .done, outcome: "cancelled run \(runID) before it started", resultRun: nil, session)
        case "running":
            // A node claimed it between the take and the lock: its owner takes the cancel.
            try await session.run("""
                UPDATE request SET state = 'pending', taken_by = NULL, taken_at = NULL WHERE id = \(taken.id) AND taken_by = \(taken.takenBy)
                """, doing: "handing request \(taken.id) to the node running run \(runID)")
        default:
            try await finish(taken, .refused, outcome: "run \(runID) has already ended (\(state)); nothing to cancel", resultRun: nil, session)
        }
    }

    private static func hold(_ taken: TakenRequest, _ session: PostgresSession) async throws {
        let request = taken.request
        // As in SQLite, a newer hold replaces the older.
        try await session.run("""
            INSERT INTO hold (job, held_by, reason, since) VALUES (\(request.job), \(request.requestedByUser), \(request.reason ?? ""), now())
            ON CONFLICT (job) DO UPDATE SET held_by = excluded.held_by, reason = excluded.reason, since = excluded.since, "until" = NULL
            """, doing: "holding \(request.job)")
        try await finish(taken, .done, outcome: "held \(request.job): no new run of it starts on any node until renkeictl release \(request.job)", resultRun: nil, session)
    }

    private static func release(_ taken: TakenRequest, _ session: PostgresSession) async throws {
        let job = taken.request.job
        let rows = try await session.run("DELETE FROM hold WHERE job = \(job) RETURNING job", doing: "releasing \(job)")
        if rows.isEmpty {
            try await finish(taken, .refused, outcome: "\(job) was not held; nothing to release", resultRun: nil, session)
        } else {
            try await finish(taken, .done, outcome: "released \(job): its runs start again", resultRun: nil, session)
        }
    }
}
