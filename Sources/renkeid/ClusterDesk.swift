import Foundation
import Logging
import RenkeiControl
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import RenkeiStore

/// Answers to the control socket of a node on PostgreSQL (`ControlDesk` is one machine's). The
/// socket stays local — SO_PEERCRED says who asks — but what it is asked to change is the
/// cluster's: `run`, `rerun`, `cancel`, `hold` and `release` are written as request rows
/// (`ClusterRequests`), each with the operator's audit row in the same transaction, and the node
/// able to act on it does (the leader; for a running run's cancel, the node running it). The
/// desk then waits a few seconds for the outcome, or says the request is pending and how to
/// follow it. `status`, `jobs` and `run-state` read the database.
struct ClusterDesk: Sendable {
    let address: PostgresAddress
    /// The node's connections (shared with its runs): a crowd of callers never opens more.
    let sessions: SessionPool
    let node: NodeState
    let locations: Locations
    let logger: Logger
    /// Whether run, rerun and cancel need `--reason`.
    let requireReason: Bool

    /// How long an answer waits for the node that acts on the request: the leader takes requests
    /// at each lease renewal, a running run's owner within a second.
    var answerWait: Duration { max(.seconds(5), node.timings.leaseRenewal.duration + .seconds(3)) }

    func handle(_ call: ControlCall) async -> ControlResponse {
        let caller = Caller(call.peer)
        switch call.content {
        case .request(let request):
            do {
                return try await sessions.with { session in
                    await answer(request, caller: caller, raw: call.sent, session)
                }
            } catch {
                logger.error("control socket: cannot reach PostgreSQL for \(caller.userName): \(error)")
                return .error(3, "node \(node.registration.name) cannot reach the cluster's database: \(error); nothing was changed. Try another node's socket, or check PostgreSQL (renkeictl status --store URL)")
            }
        case .refused(let refusal):
            let who = "\(caller.userName) (uid \(caller.uid), pid \(caller.pid))"
            if refusal.isAudited {
                try? await sessions.with { session in
                    await audit(caller, call.sent, nil, refusal.result, nil, session)
                }
                logger.event(.rerunRefused, .warning, "control socket: \(refusal.result) from \(who)", [EventField.requestedBy: caller.userName])
            } else {
                logger.notice("control socket: \(who) connected and sent nothing; closed")
            }
            return .error(refusal.exitStatus, refusal.message(to: caller.userName))
        }
    }

    func answer(_ request: ControlRequest, caller: Caller, raw: String, _ session: PostgresSession) async -> ControlResponse {
        if let problem = SafeText.reasonProblem(request.reason) {
            await audit(caller, raw, nil, "refused: \(problem)", nil, session)
            return .error(2, problem)
        }
        if request.isMutating && requireReason && (request.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            await audit(caller, raw, nil, "refused: no reason given", nil, session)
            return .error(2, "this renkeid requires --reason on every run, rerun and cancel (a ticket number, say)")
        }
        do {
            switch request.operation {
            case .status: return try await status(session)
            case .jobs: return try await jobList(session)
            case .runState: return try await runState(request.run, session)
            case .run: return try await manualRun(request, caller: caller, raw: raw, session)
            case .rerun: return try await rerun(request, caller: caller, raw: raw, session)
            case .cancel: return try await cancel(request, caller: caller, raw: raw, session)
            case .hold: return try await hold(request, caller: caller, raw: raw, session)
            case .release: return try await release(request, caller: caller, raw: raw, session)
            case .rerunFailed:
                return try await notYet(request, "rerun --failed", caller: caller, raw: raw, session)
            }
        } catch {
            logger.error("control socket: \(request.operation.rawValue) asked by \(caller.userName) failed: \(error)")
            return .error(1, "node \(node.registration.name) could not carry out \(request.operation.rawValue): \(error); check renkeictl status, then ask again")
        }
    }

    // MARK: - Reading

    func status(_ session: PostgresSession) async throws -> ControlResponse {
        let cluster = try await ClusterStatus.read(session)
        let holds = try await ClusterHolds.current(session)
        var lines = cluster.lines(store: address.description)
        lines.insert("renkeid node \(node.registration.name) (pid \(getpid())) answers for the cluster:", at: 0)
        for (job, hold) in holds.sorted(by: { $0.key < $1.key }) { lines.append("held: \(job), \(describe(hold, of: job))") }
        let running = (cluster.nodes.flatMap(\.runs) + cluster.unownedRuns).map { run in
            RunBrief(id: run.id, job: run.job, logicalTime: run.logicalTime.iso8601, trigger: "", state: "running")
        }.sorted { $0.id < $1.id }
        var brief = DaemonBrief(pid: getpid(), jobs: node.read(\.jobs.count), running: running, queued: Int(cluster.queued), next: [])
        if !holds.isEmpty { brief.held = holds.keys.sorted().map { "\($0), \(describe(holds[$0]!, of: $0))" } }
        // The lines already say it all; the brief is for --json.
        return ControlResponse(message: lines.joined(separator: "\n"), daemon: brief)
    }

    func jobList(_ session: PostgresSession) async throws -> ControlResponse {
        let jobs = node.read(\.jobs)
        let holds = try await ClusterHolds.current(session)
        var briefs: [JobBrief] = []
        for name in jobs.keys.sorted() {
            let job = jobs[name]!.job
            let last = try await PostgresRunReading.history(session, job: name, limit: 1).first
            briefs.append(JobBrief(name: name, schedule: job.schedule, timezone: zone(of: name), nextRun: nil, lastState: last?.state.rawValue,
                                   lastRun: last?.id, held: holds[name].map { describe($0, of: name) }))
        }
        return ControlResponse(message: "\(briefs.count) jobs", jobs: briefs)
    }

    func runState(_ id: Int64?, _ session: PostgresSession) async throws -> ControlResponse {
        guard let id, let run = try await PostgresRunReading.run(session, id: id) else {
            return .error(5, "no run \(id.map(String.init) ?? "?") (see renkeictl history --store URL)")
        }
        let steps = try await PostgresRunReading.stepStates(session, runID: id)
        let progress = RunProgress(id: id, state: run.state.rawValue, steps: steps.map { .init(name: $0.name, state: $0.state) }, message: run.errorMessage)
        return ControlResponse(message: progress.state, progress: progress)
    }

    // MARK: - Changing: each a request row, with its audit row

    func manualRun(_ request: ControlRequest, caller: Caller, raw: String, _ session: PostgresSession) async throws -> ControlResponse {
        guard let job = request.job, node.read({ $0.jobs[job] }) != nil else {
            await audit(caller, raw, request.reason, "refused: no such job", nil, session)
            return .error(5, "no job named \(request.job ?? "?") in \(locations.jobs) on node \(node.registration.name) (see renkeictl jobs)")
        }
        var logicalTime: Int64?
        if let text = request.logicalTime {
            do { logicalTime = try LogicalTime.parse(text, zoneIdentifier: zone(of: job)).epochSeconds } catch {
                await audit(caller, raw, request.reason, "refused: bad logical time", nil, session)
                return .error(2, "--logical-time: \(error)")
            }
        }
        return try await submit(ClusterRequest(kind: .run, job: job, logicalTime: logicalTime, reason: request.reason,
                                               requestedByUid: Int64(caller.uid), requestedByUser: caller.userName, originNode: node.registration.incarnation),
                                caller: caller, raw: raw, session)
    }

    func rerun(_ request: ControlRequest, caller: Caller, raw: String, _ session: PostgresSession) async throws -> ControlResponse {
        if request.downstream == true { return try await notYet(request, "rerun --downstream", caller: caller, raw: raw, session) }
        if request.force == true { return try await notYet(request, "rerun --force", caller: caller, raw: raw, session) }
        if let mode = request.mode, mode != .fromTop {
            return try await notYet(request, "rerun from the failed step, --only or --from-next (a run's work directory stays on the node that ran it): rerun \(request.run.map(String.init) ?? "RUN") --from-top runs every step again in a fresh directory;", caller: caller, raw: raw, session)
        }
        guard let id = request.run, let run = try await PostgresRunReading.run(session, id: id) else {
            await audit(caller, raw, request.reason, "refused: no such run", nil, session)
            return .error(5, "no run \(request.run.map(String.init) ?? "?") (see renkeictl history --store URL)")
        }
        return try await submit(ClusterRequest(kind: .rerun, job: run.job, runID: id, reason: request.reason, requestedByUid: Int64(caller.uid),
                                               requestedByUser: caller.userName, originNode: node.registration.incarnation),
                                caller: caller, raw: raw, session)
    }

    func cancel(_ request: ControlRequest, caller: Caller, raw: String, _ session: PostgresSession) async throws -> ControlResponse {
        guard let id = request.run else {
            await audit(caller, raw, request.reason, "refused: no run id", nil, session)
            return .error(2, "cancel: which run? (renkeictl cancel RUN-ID)")
        }
        guard let run = try await PostgresRunReading.run(session, id: id) else {
            await audit(caller, raw, request.reason, "refused: no such run", nil, session)
            return .error(5, "no run \(id) (see renkeictl history --store URL)")
        }
        if run.state.isFinal {
            await audit(caller, raw, request.reason, "refused: not running", id, session)
            return .error(2, "run \(id) is \(run.state.rawValue), not running: nothing to cancel")
        }
        return try await submit(ClusterRequest(kind: .cancel, job: run.job, runID: id, reason: request.reason, requestedByUid: Int64(caller.uid),
                                               requestedByUser: caller.userName, originNode: node.registration.incarnation),
                                caller: caller, raw: raw, session)
    }

    func hold(_ request: ControlRequest, caller: Caller, raw: String, _ session: PostgresSession) async throws -> ControlResponse {
        guard let job = request.job, node.read({ $0.jobs[job] }) != nil else {
            await audit(caller, raw, request.reason, "refused: no such job", nil, session)
            return .error(5, "no job named \(request.job ?? "?") in \(locations.jobs) on node \(node.registration.name) (see renkeictl jobs)")
        }
        guard let reason = request.reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            await audit(caller, raw, nil, "refused: no reason given", nil, session)
            return .error(2, "hold needs --reason: why the link must not run (a ticket number, say); it is shown with every slot it skips")
        }
        if request.until != nil {
            return try await notYet(request, "hold --until", caller: caller, raw: raw, session, instead: "hold without --until, then renkeictl release \(job) when it may run again")
        }
        return try await submit(ClusterRequest(kind: .hold, job: job, reason: reason, requestedByUid: Int64(caller.uid), requestedByUser: caller.userName,
                                               originNode: node.registration.incarnation),
                                caller: caller, raw: raw, session)
    }

    func release(_ request: ControlRequest, caller: Caller, raw: String, _ session: PostgresSession) async throws -> ControlResponse {
        guard let job = request.job, JobName(job) != nil else {
            await audit(caller, raw, request.reason, "refused: no such job", nil, session)
            return .error(5, "no job named \(request.job ?? "?")")
        }
        return try await submit(ClusterRequest(kind: .release, job: job, reason: request.reason, requestedByUid: Int64(caller.uid),
                                               requestedByUser: caller.userName, originNode: node.registration.incarnation),
                                caller: caller, raw: raw, session)
    }

    /// Writes the request with the caller's audit row (one transaction), then waits for its outcome.
    func submit(_ request: ClusterRequest, caller: Caller, raw: String, _ session: PostgresSession) async throws -> ControlResponse {
        let name = node.registration.name
        let id = try await ClusterRequests.submit(request, session) { session, id in
            try await PostgresAudit.append(entry(caller, raw, request.reason, "submitted as request \(id) on node \(name)"), runID: request.runID,
                                           key: node.auditKey, inTransactionOf: session)
        }
        let why = request.reason.map { " — \($0)" } ?? ""
        logger.notice("control socket: \(caller.userName) asked for a \(request.summary): request \(id)\(why)",
                      metadata: [EventField.requestedBy: "\(caller.userName)", EventField.job: "\(request.job)"])
        switch try await ClusterRequests.wait(id, session, timeout: answerWait) {
        case .finished(let status) where status.state == .done:
            let node = status.takenByName.map { "node \($0)" } ?? "a node"
            if let runID = status.resultRunID {
                let run = try await PostgresRunReading.run(session, id: runID)
                let brief = run.map { RunBrief(id: runID, job: $0.job, logicalTime: $0.logical.iso8601, trigger: $0.trigger.rawValue, state: $0.state.rawValue) }
                let what = request.kind == .rerun ? "rerun of run \(request.runID!) (\(request.job)" : "run of \(request.job)"
                let when = run.map { " for \($0.logical.iso8601)" } ?? ""
                return ControlResponse(message: "\(what)\(when)\(request.kind == .rerun ? ")" : "") queued as run \(runID) by \(node) (request \(id)); the first node with a free slot starts it (renkeictl show \(runID))",
                                       runs: brief.map { [$0] })
            }
            return ControlResponse(message: "\(status.outcome ?? "done") (request \(id), by \(node))")
        case .finished(let status):
            return .error(2, "\(request.summary) refused by node \(status.takenByName ?? "?") (request \(id)): \(status.outcome ?? "no reason given")")
        case .timedOut(let status, let after):
            // Still taken later: the answer says so and how to follow it; pending means no node acts now.
            let text = RequestWait.timedOut(status, after: after).description
            return status.state == .taken ? ControlResponse(message: text) : .error(3, text)
        }
    }

    /// A request the cluster cannot carry out yet: refused, audited, and what to do instead.
    func notYet(_ request: ControlRequest, _ what: String, caller: Caller, raw: String, _ session: PostgresSession,
                instead: String = "ask with the one-machine renkeid, or as the cluster allows (renkeictl --help)") async throws -> ControlResponse {
        await audit(caller, raw, request.reason, "refused: \(what) is not yet on PostgreSQL", request.run, session)
        return .error(2, "\(what) is not yet on PostgreSQL; nothing was changed. Instead: \(instead)")
    }

    // MARK: - Helpers

    func zone(of job: String) -> String {
        node.read { $0.jobs[job] }?.job.jobSchedule(machineZone: MachineTimeZone.identifier)?.effectiveZone.identifier ?? MachineTimeZone.identifier
    }

    /// "held by sato: ticket 4411", with its end when it has one.
    func describe(_ hold: Hold, of job: String) -> String {
        let until = hold.until.map { " until \(LogicalTime($0, zoneIdentifier: zone(of: job)).iso8601)" } ?? ""
        return "held by \(hold.by)\(until): \(hold.reason)"
    }

    func entry(_ caller: Caller, _ raw: String, _ reason: String?, _ result: String) -> AuditEntry {
        AuditEntry(uid: Int64(caller.uid), user: caller.userName, pid: Int64(caller.pid), request: raw, reason: reason, result: result)
    }

    /// A refusal's audit row, in a transaction of its own.
    func audit(_ caller: Caller, _ raw: String, _ reason: String?, _ result: String, _ runID: Int64?, _ session: PostgresSession) async {
        do {
            try await PostgresAudit.append(entry(caller, raw, reason, result), runID: runID, key: node.auditKey, session)
        } catch {
            logger.error("cannot write the audit row for \(caller.userName) (\(result)): \(error)")
        }
    }
}
