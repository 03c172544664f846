import Foundation
import Logging
import RenkeiControl
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

/// Answers to the control socket: status, jobs, run, rerun, rerun --failed, cancel, run-state.
/// Every request that could change something, accepted or refused, is written to the audit chain
/// and logged with `RENKEI_REQUESTED_BY`; so is every call the socket could not read as a request
/// (see `ControlCall.Refusal.isAudited`). Reading requests (status, jobs, run-state, the plan of
/// rerun --failed) leave no row.
///
/// The desk works off the daemon's loop, in each call's own task: it reads the store and writes
/// rows and audit entries itself (through the store's one writer), and asks the loop only what the
/// loop alone knows — its `DaemonView` — or tells it what changed (a run queued, a cancel).
struct ControlDesk: Sendable {
    let store: RunStore
    let runner: Runner
    let logger: Logger
    let locations: Locations
    let inbox: Inbox
    /// Whether run, rerun and cancel need `--reason`.
    let requireReason: Bool

    /// One call from the control socket. Refusals are answered without asking the loop, so that a
    /// crowd of outsiders never queues before the scheduler.
    func handle(_ call: ControlCall) async -> ControlResponse {
        let caller = Caller(call.peer)
        switch call.content {
        case .request(let request):
            return await answer(request, caller: caller, raw: call.sent)
        case .refused(let refusal):
            let who = "\(caller.userName) (uid \(caller.uid), pid \(caller.pid))"
            if refusal.isAudited {
                await audit(caller, call.sent, nil, refusal.result, nil)
                logger.event(.rerunRefused, .warning, "control socket: \(refusal.result) from \(who)", [EventField.requestedBy: caller.userName])
            } else {
                logger.notice("control socket: \(who) connected and sent nothing; closed")
            }
            return .error(refusal.exitStatus, refusal.message(to: caller.userName))
        }
    }

    /// A request from a caller the socket let in (root, renkeid's user, an operator).
    func answer(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        if let problem = SafeText.reasonProblem(request.reason) {
            await audit(caller, raw, nil, "refused: \(problem)", nil)
            return .error(2, problem)
        }
        if request.isMutating && requireReason && (request.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            await audit(caller, raw, nil, "refused: no reason given", nil)
            return .error(2, "this renkeid requires --reason on every run, rerun and cancel (a ticket number, say)")
        }
        switch request.operation {
        case .status: return status(await inbox.ask().view)
        case .jobs: return jobList(await inbox.ask().view)
        case .runState: return runState(request.run, await inbox.ask().view)
        case .run: return await manualRun(request, caller: caller, raw: raw)
        case .rerun: return await rerun(request, caller: caller, raw: raw)
        case .rerunFailed: return await rerunFailed(request, caller: caller, raw: raw)
        case .cancel: return await cancel(request, caller: caller, raw: raw)
        case .hold: return await hold(request, caller: caller, raw: raw)
        case .release: return await release(request, caller: caller, raw: raw)
        }
    }

    // MARK: - Reading

    func status(_ view: DaemonView) -> ControlResponse {
        let running = view.core.running.values.compactMap { run -> RunBrief? in
            guard let id = run.runID else { return nil }
            return RunBrief(id: id.rawValue, job: run.planned.job.rawValue, logicalTime: view.logical(run.planned).iso8601,
                            trigger: run.planned.trigger.rawValue, state: "running")
        }.sorted { $0.id < $1.id }
        let next = view.core.scheduler.nextSlots().prefix(10).map { slot in
            "\(slot.job) at \(LogicalTime(slot.runAt, zoneIdentifier: view.zoneName(of: slot.job)).iso8601)"
        }
        var brief = DaemonBrief(pid: getpid(), jobs: view.jobs.count, running: running, queued: view.core.scheduler.queued, next: Array(next),
                                storage: view.core.storage.problem?.description)
        let chains = view.core.chains
        let waits = chains.waits.values.flatMap(\.values).sorted { $0.run < $1.run }
        let held = view.core.holds.keys.sorted().map { job in "\(job), \(Self.describe(view.core.holds[job]!, of: job, view))" }
        if !held.isEmpty { brief.held = held }
        brief.notifications = view.notificationsFailing
        if !waits.isEmpty {
            brief.waiting = waits.map { wait in
                let missing = chains.missing(wait.planned.job, chains.date(of: wait.planned.job, at: wait.planned.logicalTime))
                let until = LogicalTime(wait.until, zoneIdentifier: view.zoneName(of: wait.planned.job)).iso8601
                return RunBrief(id: wait.run.rawValue, job: wait.planned.job.rawValue, logicalTime: view.logical(wait.planned).iso8601,
                                trigger: wait.planned.trigger.rawValue,
                                state: "waiting for \(missing.map(\.rawValue).joined(separator: ", ")) until \(until)")
            }
        }
        return ControlResponse(message: "renkeid (pid \(getpid())) is running: \(view.statusLine)", daemon: brief)
    }

    func jobList(_ view: DaemonView) -> ControlResponse {
        let next = Dictionary(view.core.scheduler.nextSlots().map { ($0.job, $0.runAt) }, uniquingKeysWith: min)
        let briefs = view.jobs.keys.sorted().map { name -> JobBrief in
            let job = view.jobs[name]!.job
            let last = try? store.history(job: name.rawValue, limit: 1).first
            return JobBrief(name: name.rawValue, schedule: job.schedule, timezone: view.zoneName(of: name),
                            nextRun: next[name].map { LogicalTime($0, zoneIdentifier: view.zoneName(of: name)).iso8601 },
                            lastState: last?.state.rawValue, lastRun: last?.id,
                            held: view.core.holds[name].map { Self.describe($0, of: name, view) })
        }
        return ControlResponse(message: "\(briefs.count) jobs", jobs: briefs)
    }

    /// A run's state on record; while the store cannot be written, also what the daemon knows
    /// that is not on record yet, so that `run --wait` ends.
    func runState(_ id: Int64?, _ view: DaemonView) -> ControlResponse {
        guard let id, let detail = try? store.detail(runID: id) else { return .error(5, "no run \(id.map(String.init) ?? "?") (see renkeictl history)") }
        var progress = RunProgress(id: id, state: detail.run.state.rawValue,
                                   steps: detail.steps.map { .init(name: $0.name, state: $0.state.rawValue) }, message: detail.run.errorMessage)
        if let problem = view.core.storage.problem {
            if let outcome = view.core.unrecorded[RunID(id)] {
                progress.state = outcome.state.rawValue
                progress.message = outcome.message
                progress.storage = "\(problem); run \(id) ended \(outcome.state.rawValue) and is recorded once the store can be written"
            } else if !detail.run.state.isFinal {
                let where_ = view.core.runningRun(RunID(id)) != nil ? "is still running" : "waits to start"
                progress.storage = "\(problem); run \(id) \(where_) and nothing new can be recorded until the store can be written"
            }
        }
        return ControlResponse(message: progress.state, progress: progress)
    }

    // MARK: - Changing

    func manualRun(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        let view = await inbox.ask().view
        guard let name = request.job.flatMap(JobName.init), let loaded = view.jobs[name] else {
            await audit(caller, raw, request.reason, "refused: no such job", nil)
            return .error(5, "no job named \(request.job ?? "?") in \(locations.jobs) (see renkeictl jobs)")
        }
        let zone = view.zoneName(of: name)
        let logicalTime: LogicalTime
        if let text = request.logicalTime {
            do { logicalTime = try LogicalTime.parse(text, zoneIdentifier: zone) } catch {
                await audit(caller, raw, request.reason, "refused: bad logical time", nil)
                return .error(2, "--logical-time: \(error)")
            }
        } else {
            logicalTime = LogicalTime(Instant(Date()), zoneIdentifier: zone)
        }
        let runRequest = RunRequest(job: loaded, logicalTime: logicalTime, trigger: .manual,
                                    requestedBy: Requester(uid: caller.uid, userName: caller.userName), reason: request.reason)
        return await submit(runRequest, view, caller: caller, raw: raw, what: "run of \(name) for \(logicalTime.iso8601)")
    }

    func rerun(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        let view = await inbox.ask().view
        if request.downstream == true { return await rerunDownstream(request, view, caller: caller, raw: raw) }
        switch prepareRerun(of: request.run, mode: request.mode ?? .fromFailed, step: request.step, force: request.force == true,
                            caller: caller, reason: request.reason, jobs: view.jobs) {
        case .failure(let refusal):
            await audit(caller, raw, request.reason, "refused: \(refusal.message)", nil)
            logger.event(.rerunRefused, .warning, "refused the rerun of run \(request.run.map(String.init) ?? "?") asked by \(caller.userName): \(refusal.message)",
                         [EventField.requestedBy: caller.userName])
            return .error(refusal.status, refusal.message)
        case .success(let runRequest):
            return await submit(runRequest, view, caller: caller, raw: raw, what: "rerun of run \(runRequest.rerunOf!) (\(runRequest.job.job.name) for \(runRequest.logicalTime.iso8601))")
        }
    }

    func prepareRerun(of id: Int64?, mode: ControlRequest.RerunMode, step: String?, force: Bool, caller: Caller, reason: String?,
                      jobs: [JobName: LoadedJob]) -> Result<RunRequest, RerunRefusal> {
        guard let id, let detail = try? store.detail(runID: id) else {
            return .failure(RerunRefusal(status: 5, message: "no run \(id.map(String.init) ?? "?") (see renkeictl history)"))
        }
        return RerunPreparation.request(rerunning: detail, job: JobName(detail.run.job).flatMap { jobs[$0] }, mode: mode, step: step, force: force,
                                        requester: Requester(uid: caller.uid, userName: caller.userName), reason: reason)
    }

    /// Records the run `queued`, with its audit entry, and hands it to the loop — unless renkeid
    /// is stopping or cannot write its store. The run and its audit entry are written in one
    /// transaction, in this call's task: requests from many operators (or a script) then share
    /// fsyncs (the `Recorder`), and the loop never waits for a disk.
    func submit(_ request: RunRequest, _ view: DaemonView, caller: Caller, raw: String, what: String) async -> ControlResponse {
        guard view.core.lifecycle == .serving else {
            await audit(caller, raw, request.reason, "refused: renkeid is stopping", nil)
            return .error(3, "renkeid is stopping; ask again once it is back (systemctl start renkeid), or use --local")
        }
        if let problem = view.core.storage.problem {
            return .error(1, "cannot record the run: \(problem); ask again once it can be written (renkeictl status shows when)")
        }
        let row: RunRecord
        do { row = try await runner.enqueue(request, audit: entry(caller, raw, request.reason, "accepted")) } catch {
            if let failure = error as? StoreFailure {
                inbox.send(.storeFailed(Daemon.Loop.problem(failure)))
                return .error(1, "cannot record the run: \(failure)")
            }
            await audit(caller, raw, request.reason, "refused: \(error)", nil)
            return .error(1, "cannot record the run: \(error)")
        }
        if request.trigger == .rerun {
            logger.event(.rerunRequested, .notice, "\(caller.userName) asked for a \(what): run \(row.id!)" + (request.reason.map { " — \($0)" } ?? ""),
                         RunEvents.fields(row).merging([EventField.requestedBy: caller.userName]) { $1 })
        }
        inbox.send(.queued(request, row))
        let brief = RunBrief(id: row.id!, job: row.job, logicalTime: row.logical.iso8601, trigger: row.trigger.rawValue, state: "queued")
        return ControlResponse(message: "\(what) queued as run \(row.id!)", runs: [brief])
    }

    func rerunFailed(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        let zone = MachineTimeZone.identifier
        var since: Date?, until: Date?
        do {
            since = try request.since.map { Date(timeIntervalSince1970: TimeInterval(try LogicalTime.parse($0, zoneIdentifier: zone).epochSeconds)) }
            until = try request.until.map { Date(timeIntervalSince1970: TimeInterval(try LogicalTime.parse($0, zoneIdentifier: zone).epochSeconds)) }
        } catch {
            if request.isMutating { await audit(caller, raw, request.reason, "refused: bad --since/--until", nil) }
            return .error(2, "--since/--until: \(error)")
        }
        let failures: [RunRecord]
        do { failures = try store.unresolvedFailures(job: request.job, since: since, until: until) } catch {
            if request.isMutating { await audit(caller, raw, request.reason, "refused: cannot read the run store", nil) }
            return .error(1, "cannot read the run store: \(error)")
        }
        var plan = failures.map { run in
            PlanItem(run: run.id!, job: run.job, logicalTime: run.logical.iso8601, error: run.errorMessage ?? run.state.rawValue,
                     from: run.failedStep.map { "step \($0)" } ?? "the top")
        }
        guard request.yes == true else {
            let message = plan.isEmpty ? "no unresolved failures" : "\(plan.count) unresolved failure(s) would be rerun; nothing was changed — add --yes to carry it out"
            return ControlResponse(message: message, plan: plan)
        }
        // Each rerun leaves its own row; a --yes with nothing to rerun leaves one too.
        if plan.isEmpty { await audit(caller, raw, request.reason, "accepted: no unresolved failures", nil) }
        for index in plan.indices {
            let item = plan[index]
            let single = ControlRequest(operation: .rerun, run: item.run, reason: request.reason)
            let response = await rerun(single, caller: caller, raw: raw)
            plan[index].rerun = response.runs?.first?.id
        }
        let made = plan.filter { $0.rerun != nil }.count
        return ControlResponse(exitStatus: made == plan.count ? 0 : 1, message: "\(made) of \(plan.count) rerun(s) queued", plan: plan)
    }

    func cancel(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        guard let id = request.run else {
            await audit(caller, raw, request.reason, "refused: no run id", nil)
            return .error(2, "cancel: which run?")
        }
        let effects = await inbox.ask(.cancelRequested(runID: RunID(id), by: caller.userName)).effects
        for effect in effects {
            switch effect {
            case .recordCancelled:
                await audit(caller, raw, request.reason, "accepted", id)
                return ControlResponse(message: "run \(id) cancelled before it started")
            case .stop:
                await audit(caller, raw, request.reason, "accepted", id)
                return ControlResponse(message: "run \(id) is being stopped (SIGTERM to its processes, SIGKILL after the kill grace); it will be recorded cancelled")
            default:
                continue
            }
        }
        await audit(caller, raw, request.reason, "refused: not running", nil)
        let state = (try? store.detail(runID: id))?.run.state.rawValue
        return .error(state == nil ? 5 : 2, state.map { "run \(id) is \($0), not running: nothing to cancel" } ?? "no run \(id)")
    }

    /// `rerun RUN --downstream`: RUN's rerun, then a rerun of each job that depends on RUN's job
    /// (transitively, in dependency order) for the same business date — the newest run of that
    /// date, from the top; or a new run if it has none. Without `--yes` only the plan. With it the
    /// first rerun is queued and the others recorded `waiting`: each starts once the reruns of its
    /// upstreams in the plan succeeded, and is recorded not run if one of them does not. Audited
    /// as one request.
    func rerunDownstream(_ request: ControlRequest, _ view: DaemonView, caller: Caller, raw: String) async -> ControlResponse {
        let requester = Requester(uid: caller.uid, userName: caller.userName)
        let first: RunRequest
        switch prepareRerun(of: request.run, mode: request.mode ?? .fromFailed, step: request.step, force: request.force == true,
                            caller: caller, reason: request.reason, jobs: view.jobs) {
        case .failure(let refusal):
            if request.yes == true { await audit(caller, raw, request.reason, "refused: \(refusal.message)", nil) }
            return .error(refusal.status, refusal.message)
        case .success(let prepared):
            first = prepared
        }
        let job = first.job.job.name
        let date = view.core.chains.date(of: job, at: first.logicalTime.instant)
        let dependencies = Dependencies(view.jobs.values.map(\.job))
        var plan = [PlanItem(run: request.run!, job: job.rawValue, logicalTime: first.logicalTime.iso8601, error: "the run asked for",
                             from: Self.from(first))]
        var requests: [(JobName, RunRequest)] = []
        var refusals: [String] = []
        for downstream in dependencies.downstream(of: job) {
            guard let loaded = view.jobs[downstream] else { continue }
            let ofDate = ((try? store.history(job: downstream.rawValue, limit: 200)) ?? []).first { run in
                view.core.chains.date(of: downstream, at: Instant(secondsSinceEpoch: run.logicalTime)) == date && run.state.isFinal
                    && run.state != .skipped && run.state != .missed
            }
            if let earlier = ofDate, let detail = try? store.detail(runID: earlier.id!) {
                switch RerunPreparation.request(rerunning: detail, job: loaded, mode: .fromTop, step: nil, force: request.force == true,
                                                requester: requester, reason: request.reason) {
                case .success(let rerun):
                    requests.append((downstream, rerun))
                    plan.append(PlanItem(run: earlier.id!, job: downstream.rawValue, logicalTime: earlier.logical.iso8601,
                                         error: earlier.errorMessage ?? earlier.state.rawValue, from: "the top"))
                case .failure(let refusal):
                    refusals.append("\(downstream): \(refusal.message)")
                    plan.append(PlanItem(run: earlier.id!, job: downstream.rawValue, logicalTime: earlier.logical.iso8601, error: refusal.message, from: "-"))
                }
            } else {
                let logical = LogicalTime(first.logicalTime.instant, zoneIdentifier: view.zoneName(of: downstream))
                requests.append((downstream, RunRequest(job: loaded, logicalTime: logical, trigger: .manual, requestedBy: requester, reason: request.reason)))
                plan.append(PlanItem(run: 0, job: downstream.rawValue, logicalTime: logical.iso8601, error: "no run for \(date): a new run", from: "the top"))
            }
        }
        guard request.yes == true else {
            let message = "\(plan.count) run(s) for \(date) would run, in this order, each after the reruns of its upstreams succeeded; nothing was changed — add --yes to carry it out"
                + (refusals.isEmpty ? "" : "\n" + refusals.joined(separator: "\n"))
            return ControlResponse(exitStatus: refusals.isEmpty ? 0 : 2, message: message, plan: plan)
        }
        guard refusals.isEmpty else {
            await audit(caller, raw, request.reason, "refused: \(refusals.joined(separator: "; "))", nil)
            return ControlResponse(exitStatus: 2, message: "nothing was changed:\n" + refusals.joined(separator: "\n"), plan: plan)
        }
        guard view.core.lifecycle == .serving, view.core.storage == .writable else {
            await audit(caller, raw, request.reason, "refused: renkeid cannot start runs now", nil)
            return .error(3, "renkeid is stopping or cannot write its store (renkeictl status); nothing was changed")
        }
        // Recorded one by one; the first with the audit entry for the whole request.
        var ids: [JobName: RunID] = [:]
        var recorded: [(request: RunRequest, row: RunRecord, after: [RunID: JobName])] = []
        let firstRow: RunRecord
        do {
            firstRow = try await runner.enqueue(first, audit: entry(caller, raw, request.reason, "accepted: rerun --downstream, \(plan.count) run(s)"))
            ids[job] = RunID(firstRow.id!)
            for (downstream, rerun) in requests {
                let inPlan = dependencies.upstream(of: downstream).filter { ids[$0] != nil }
                var after: [RunID: JobName] = [:]
                for upstream in inPlan { after[ids[upstream]!] = upstream }
                if after.isEmpty { after[ids[job]!] = job }
                let names = after.sorted { $0.key < $1.key }.map { "\($0.value) (run \($0.key))" }.joined(separator: ", ")
                let row = try await runner.enqueue(rerun, waitingFor: "waiting for the rerun of \(names) to succeed (rerun --downstream of run \(request.run!))")
                ids[downstream] = RunID(row.id!)
                recorded.append((rerun, row, after))
            }
        } catch {
            if let failure = error as? StoreFailure { inbox.send(.storeFailed(Daemon.Loop.problem(failure))) }
            return .error(1, "cannot record the plan: \(error); what was recorded before the failure waits (renkeictl status)")
        }
        inbox.send(.queued(first, firstRow))
        inbox.send(.plan(recorded))
        logger.event(.rerunRequested, .notice, "\(caller.userName) asked for a rerun of run \(request.run!) and its \(recorded.count) downstream run(s) for \(date): runs \(ids.values.sorted().map(\.description).joined(separator: ", "))" + (request.reason.map { " — \($0)" } ?? ""),
                     [EventField.requestedBy: caller.userName, EventField.job: job.rawValue])
        for index in plan.indices { plan[index].rerun = ids[JobName(plan[index].job)!]?.rawValue }
        return ControlResponse(message: "\(plan.count) run(s) for \(date) recorded: run \(firstRow.id!) now, each downstream once the reruns of its upstreams succeeded (renkeictl status)",
                               runs: [RunBrief(id: firstRow.id!, job: job.rawValue, logicalTime: first.logicalTime.iso8601, trigger: "rerun", state: "queued")],
                               plan: plan)
    }

    static func from(_ request: RunRequest) -> String {
        switch request.steps {
        case .all: "the top"
        case .from(let index): index < request.job.job.steps.count ? "step \(request.job.job.steps[index].name)" : "no step (every step done)"
        case .only(let index): "only step \(request.job.job.steps[index].name)"
        }
    }

    /// "held by sato until 2026-12-02T06:00:00+09:00: ticket 4411".
    static func describe(_ hold: Hold, of job: JobName, _ view: DaemonView) -> String {
        let until = hold.until.map { " until \(LogicalTime($0, zoneIdentifier: view.zoneName(of: job)).iso8601)" } ?? ""
        return "held by \(hold.by)\(until): \(hold.reason)"
    }

    /// `renkeictl hold JOB [--until T] --reason …`: the job's automatic runs are recorded skipped.
    func hold(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        let view = await inbox.ask().view
        guard let name = request.job.flatMap(JobName.init), view.jobs[name] != nil else {
            await audit(caller, raw, request.reason, "refused: no such job", nil)
            return .error(5, "no job named \(request.job ?? "?") in \(locations.jobs) (see renkeictl jobs)")
        }
        guard let reason = request.reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            await audit(caller, raw, nil, "refused: no reason given", nil)
            return .error(2, "hold needs --reason: why the link must not run (a ticket number, say); it is shown with every slot it skips")
        }
        var until: Instant?
        if let text = request.until {
            do {
                let time = try LogicalTime.parse(text, zoneIdentifier: view.zoneName(of: name))
                guard time.instant > Instant(Date()) else {
                    await audit(caller, raw, reason, "refused: --until in the past", nil)
                    return .error(2, "--until \(text) has passed: give a time to come, or leave it out and release by hand")
                }
                until = time.instant
            } catch {
                await audit(caller, raw, reason, "refused: bad --until", nil)
                return .error(2, "--until: \(error)")
            }
        }
        let hold = Hold(by: caller.userName, reason: reason, since: Instant(Date()), until: until)
        _ = await inbox.ask(.holdRequested(job: name, hold))
        await audit(caller, raw, reason, "accepted", nil)
        return ControlResponse(message: "\(name) is \(Self.describe(hold, of: name, view)); its slots are recorded skipped until then (renkeictl release \(name))")
    }

    /// `renkeictl release JOB`: a held job's next slots run again.
    func release(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        guard let name = request.job.flatMap(JobName.init) else {
            await audit(caller, raw, request.reason, "refused: no such job", nil)
            return .error(5, "no job named \(request.job ?? "?")")
        }
        let effects = await inbox.ask(.releaseRequested(job: name, by: caller.userName)).effects
        guard effects.contains(where: { if case .recordRelease = $0 { true } else { false } }) else {
            await audit(caller, raw, request.reason, "refused: not held", nil)
            return .error(2, "\(name) is not held: nothing to release (renkeictl status lists held jobs)")
        }
        await audit(caller, raw, request.reason, "accepted", nil)
        return ControlResponse(message: "\(name) is released; its next slots run")
    }

    func entry(_ caller: Caller, _ raw: String, _ reason: String?, _ result: String) -> AuditEntry {
        AuditEntry(uid: Int64(caller.uid), user: caller.userName, pid: Int64(caller.pid), request: raw, reason: reason, result: result)
    }

    func audit(_ caller: Caller, _ raw: String, _ reason: String?, _ result: String, _ runID: Int64?) async {
        do {
            try await store.appendAudit(entry(caller, raw, reason, result), runID: runID)
        } catch {
            if let failure = error as? StoreFailure { inbox.send(.storeFailed(Daemon.Loop.problem(failure))) }
            logger.error("cannot write the audit row for \(caller.userName): \(error)")
        }
    }
}
