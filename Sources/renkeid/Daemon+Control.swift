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
extension Daemon {
    /// One call from the control socket. Refusals are answered here, on the caller's thread and
    /// off the actor, so that a crowd of outsiders never queues before the scheduler.
    nonisolated func handle(_ call: ControlCall) async -> ControlResponse {
        let caller = Caller(call.peer)
        switch call.content {
        case .request(let request):
            return await answer(request, caller: caller, raw: call.sent)
        case .refused(let refusal):
            let who = "\(caller.userName) (uid \(caller.uid), pid \(caller.pid))"
            if refusal.isAudited {
                audit(caller, call.sent, nil, refusal.result, nil)
                logger.event(.rerunRefused, .warning, "control socket: \(refusal.result) from \(who)", [EventField.requestedBy: caller.userName])
            } else {
                logger.notice("control socket: \(who) connected and sent nothing; closed")
            }
            return .error(refusal.exitStatus, refusal.message(to: caller.userName))
        }
    }

    /// A request from a caller the socket let in (root, renkeid's user, an operator).
    func answer(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        if request.isMutating && requireReason && (request.reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            audit(caller, raw, nil, "refused: no reason given", nil)
            return .error(2, "this renkeid requires --reason on every run, rerun and cancel (a ticket number, say)")
        }
        switch request.operation {
        case .status: return status(caller)
        case .jobs: return jobList()
        case .runState: return runState(request.run)
        case .run: return await manualRun(request, caller: caller, raw: raw)
        case .rerun: return await rerun(request, caller: caller, raw: raw)
        case .rerunFailed: return await rerunFailed(request, caller: caller, raw: raw)
        case .cancel: return cancel(request, caller: caller, raw: raw)
        }
    }

    // MARK: - Reading

    func status(_ caller: Caller) -> ControlResponse {
        let running = runs.values.compactMap { entry -> RunBrief? in
            guard let id = entry.runID else { return nil }
            return RunBrief(id: id, job: entry.planned.job.rawValue, logicalTime: logical(entry.planned).iso8601,
                            trigger: entry.planned.trigger.rawValue, state: "running")
        }.sorted { $0.id < $1.id }
        let next = scheduler.nextSlots().prefix(10).map { slot in
            "\(slot.job) at \(LogicalTime(microseconds: slot.runAt, zoneIdentifier: zoneName(of: slot.job)).iso8601)"
        }
        let brief = DaemonBrief(pid: getpid(), jobs: jobs.count, running: running, queued: scheduler.queued, next: Array(next))
        return ControlResponse(message: "renkeid (pid \(getpid())) is running: \(status())", daemon: brief)
    }

    func jobList() -> ControlResponse {
        let next = Dictionary(scheduler.nextSlots().map { ($0.job, $0.runAt) }, uniquingKeysWith: min)
        let briefs = jobs.keys.sorted().map { name -> JobBrief in
            let job = jobs[name]!.job
            let last = try? store.history(job: name.rawValue, limit: 1).first
            return JobBrief(name: name.rawValue, schedule: job.schedule, timezone: zoneName(of: name),
                            nextRun: next[name].map { LogicalTime(microseconds: $0, zoneIdentifier: zoneName(of: name)).iso8601 },
                            lastState: last?.state.rawValue, lastRun: last?.id)
        }
        return ControlResponse(message: "\(briefs.count) jobs", jobs: briefs)
    }

    func runState(_ id: Int64?) -> ControlResponse {
        guard let id, let detail = try? store.detail(runID: id) else { return .error(5, "no run \(id.map(String.init) ?? "?") (see renkeictl history)") }
        let progress = RunProgress(id: id, state: detail.run.state.rawValue,
                                   steps: detail.steps.map { .init(name: $0.name, state: $0.state.rawValue) }, message: detail.run.errorMessage)
        return ControlResponse(message: detail.run.state.rawValue, progress: progress)
    }

    // MARK: - Changing

    func manualRun(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        guard let name = request.job.flatMap(JobName.init), let loaded = jobs[name] else {
            audit(caller, raw, request.reason, "refused: no such job", nil)
            return .error(5, "no job named \(request.job ?? "?") in \(locations.jobs) (see renkeictl jobs)")
        }
        let zone = zoneName(of: name)
        let logicalTime: LogicalTime
        if let text = request.logicalTime {
            do { logicalTime = try LogicalTime.parse(text, zoneIdentifier: zone) } catch {
                audit(caller, raw, request.reason, "refused: bad logical time", nil)
                return .error(2, "--logical-time: \(error)")
            }
        } else {
            logicalTime = LogicalTime(epochSeconds: Int64(Date().timeIntervalSince1970), zoneIdentifier: zone)
        }
        let runRequest = RunRequest(job: loaded, logicalTime: logicalTime, trigger: .manual,
                                    requestedBy: Requester(uid: caller.uid, userName: caller.userName), reason: request.reason)
        return await submit(runRequest, caller: caller, raw: raw, what: "run of \(name) for \(logicalTime.iso8601)")
    }

    func rerun(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        switch prepareRerun(of: request.run, mode: request.mode ?? .fromFailed, step: request.step, force: request.force == true,
                            caller: caller, reason: request.reason) {
        case .failure(let refusal):
            audit(caller, raw, request.reason, "refused: \(refusal.message)", nil)
            logger.event(.rerunRefused, .warning, "refused the rerun of run \(request.run.map(String.init) ?? "?") asked by \(caller.userName): \(refusal.message)",
                         [EventField.requestedBy: caller.userName])
            return .error(refusal.status, refusal.message)
        case .success(let runRequest):
            return await submit(runRequest, caller: caller, raw: raw, what: "rerun of run \(runRequest.rerunOf!) (\(runRequest.job.job.name) for \(runRequest.logicalTime.iso8601))")
        }
    }

    func prepareRerun(of id: Int64?, mode: ControlRequest.RerunMode, step: String?, force: Bool, caller: Caller, reason: String?) -> Result<RunRequest, RerunRefusal> {
        guard let id, let detail = try? store.detail(runID: id) else {
            return .failure(RerunRefusal(status: 5, message: "no run \(id.map(String.init) ?? "?") (see renkeictl history)"))
        }
        return RerunPreparation.request(rerunning: detail, job: JobName(detail.run.job).flatMap { jobs[$0] }, mode: mode, step: step, force: force,
                                        requester: Requester(uid: caller.uid, userName: caller.userName), reason: reason)
    }

    /// Records the run `queued`, with its audit entry, and hands it to the scheduler — unless
    /// renkeid is stopping.
    func submit(_ request: RunRequest, caller: Caller, raw: String, what: String) async -> ControlResponse {
        guard stopRequests == 0 else {
            audit(caller, raw, request.reason, "refused: renkeid is stopping", nil)
            return .error(3, "renkeid is stopping; ask again once it is back (systemctl start renkeid), or use --local")
        }
        return await record(request, caller: caller, raw: raw, what: what)
    }

    /// The run and its audit entry are written, in one transaction, off the actor on the request's
    /// own thread: requests from many operators (or a script) then share fsyncs (the `Recorder`),
    /// and the scheduler never waits for a disk.
    nonisolated func record(_ request: RunRequest, caller: Caller, raw: String, what: String) async -> ControlResponse {
        let row: RunRecord
        do { row = try runner.enqueue(request, audit: entry(caller, raw, request.reason, "accepted")) } catch {
            audit(caller, raw, request.reason, "refused: \(error)", nil)
            return .error(1, "cannot record the run: \(error)")
        }
        if request.trigger == .rerun {
            logger.event(.rerunRequested, .notice, "\(caller.userName) asked for a \(what): run \(row.id!)" + (request.reason.map { " — \($0)" } ?? ""),
                         RunEvents.fields(row).merging([EventField.requestedBy: caller.userName]) { $1 })
        }
        await schedule(row, request)
        let brief = RunBrief(id: row.id!, job: row.job, logicalTime: row.logical.iso8601, trigger: row.trigger.rawValue, state: "queued")
        return ControlResponse(message: "\(what) queued as run \(row.id!)", runs: [brief])
    }

    /// An operator's recorded run joins the scheduler's queue.
    func schedule(_ row: RunRecord, _ request: RunRequest) {
        manual[row.id!] = (request, row)
        let planned = PlannedRun(job: request.job.job.name, logicalTime: request.logicalTime.epochSeconds * 1_000_000, trigger: request.trigger,
                                 attempt: request.attempt, dueAt: Self.now(), queuedRunID: row.id!)
        perform(scheduler.submit(planned))
        wakeup.signal()
    }

    func rerunFailed(_ request: ControlRequest, caller: Caller, raw: String) async -> ControlResponse {
        let zone = MachineTimeZone.identifier
        var since: Date?, until: Date?
        do {
            since = try request.since.map { Date(timeIntervalSince1970: TimeInterval(try LogicalTime.parse($0, zoneIdentifier: zone).epochSeconds)) }
            until = try request.until.map { Date(timeIntervalSince1970: TimeInterval(try LogicalTime.parse($0, zoneIdentifier: zone).epochSeconds)) }
        } catch {
            if request.isMutating { audit(caller, raw, request.reason, "refused: bad --since/--until", nil) }
            return .error(2, "--since/--until: \(error)")
        }
        let failures: [RunRecord]
        do { failures = try store.unresolvedFailures(job: request.job, since: since, until: until) } catch {
            if request.isMutating { audit(caller, raw, request.reason, "refused: cannot read the run store", nil) }
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
        if plan.isEmpty { audit(caller, raw, request.reason, "accepted: no unresolved failures", nil) }
        for index in plan.indices {
            let item = plan[index]
            let single = ControlRequest(operation: .rerun, run: item.run, reason: request.reason)
            let response = await rerun(single, caller: caller, raw: raw)
            plan[index].rerun = response.runs?.first?.id
        }
        let made = plan.filter { $0.rerun != nil }.count
        return ControlResponse(exitStatus: made == plan.count ? 0 : 1, message: "\(made) of \(plan.count) rerun(s) queued", plan: plan)
    }

    func cancel(_ request: ControlRequest, caller: Caller, raw: String) -> ControlResponse {
        guard let id = request.run else {
            audit(caller, raw, request.reason, "refused: no run id", nil)
            return .error(2, "cancel: which run?")
        }
        if let planned = scheduler.withdraw(queuedRunID: id) {
            manual[id] = nil
            try? store.cancelQueued(runID: id, message: "cancelled by \(caller.userName) before it started", at: Date())
            audit(caller, raw, request.reason, "accepted", id)
            logger.event(.runCancelled, .notice, "\(planned.job) run \(id) was cancelled by \(caller.userName) before it started",
                         [EventField.job: planned.job.rawValue, EventField.runID: String(id), EventField.requestedBy: caller.userName])
            return ControlResponse(message: "run \(id) cancelled before it started")
        }
        guard let (_, entry) = runs.first(where: { $0.value.runID == id }) else {
            audit(caller, raw, request.reason, "refused: not running", nil)
            let state = (try? store.detail(runID: id))?.run.state.rawValue
            return .error(state == nil ? 5 : 2, state.map { "run \(id) is \($0), not running: nothing to cancel" } ?? "no run \(id)")
        }
        entry.cancellation.operatorCancels(caller.userName)
        entry.task.cancel()
        audit(caller, raw, request.reason, "accepted", id)
        return ControlResponse(message: "run \(id) is being stopped (SIGTERM to its processes, SIGKILL after the kill grace); it will be recorded cancelled")
    }

    nonisolated func entry(_ caller: Caller, _ raw: String, _ reason: String?, _ result: String) -> AuditEntry {
        AuditEntry(uid: Int64(caller.uid), user: caller.userName, pid: Int64(caller.pid), request: raw, reason: reason, result: result)
    }

    nonisolated func audit(_ caller: Caller, _ raw: String, _ reason: String?, _ result: String, _ runID: Int64?) {
        do {
            try store.appendAudit(entry(caller, raw, reason, result), runID: runID)
        } catch {
            logger.error("cannot write the audit row for \(caller.userName): \(error)")
        }
    }

    func logical(_ planned: PlannedRun) -> LogicalTime {
        LogicalTime(microseconds: planned.logicalTime, zoneIdentifier: zoneName(of: planned.job))
    }
}
