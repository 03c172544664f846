import Foundation
import Logging
import RenkeiCore
import RenkeiExecutor
import RenkeiPostgres
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd
import UnixSignals

/// renkeid's life as one node of several on one PostgreSQL database (`--store postgresql:…`);
/// `Daemon` is its life on one machine with SQLite. The database is the arbiter: every decision
/// that two nodes could make at once is one statement or one fenced transaction there.
///
/// Three duties run side by side, each on its own connection, so a slow statement of one never
/// delays another:
/// - **heartbeat** (every `--heartbeat`): stamps this node's row. Silent past `--self-fence-after`,
///   the node stops its steps and writes nothing (`SelfFence`); told it was declared dead, it
///   kills them at once and registers again as a new incarnation.
/// - **leadership** (every `--lease-renew`, and at each slot): takes or renews the scheduler
///   lease. While it leads (`Leadership`), it records due slots in the ledger (`SlotLedger`),
///   declares silent nodes dead (`DeadNodeReaper`) and queues the retries their runs are owed
///   (`ReapedRunRetries`) — each in a transaction fenced by its term.
/// - **claims** (every second): while fewer than `--max-concurrent` runs run here, takes the
///   oldest due queued run (`RunClaims`) and runs it with the `Runner`, every write under the
///   run's claim (`NodeRunRecords`). `--max-concurrent 0`: a standby that only leads.
///
/// SIGTERM stops claiming, waits `--shutdown-grace` for running runs (then stops them: they
/// end `interrupted` and are retried by policy), gives the lease up and leaves; SIGHUP reloads
/// the job files.
struct ClusterNode {
    let address: PostgresAddress
    let timings: ClusterTimings
    let maxConcurrent: Int
    let locations: Locations
    /// A runner writing to one claimed run's records.
    let runner: @Sendable (any RunRecords) -> Runner
    let events: RunEvents
    let notifier: SystemdNotifier
    let logger: Logger
    let shutdownGrace: Duration
    let node: NodeState
    let machineZone = MachineTimeZone.identifier
    /// The runs' and the control socket's connections, reused from one to the next.
    let runSessions: SessionPool
    /// Who may use this node's control socket (`--operators-group`), and whether run, rerun
    /// and cancel need `--reason` (`--require-reason`): as on one machine.
    let authorization: Authorization
    let requireReason: Bool

    init(address: PostgresAddress, name: String, timings: ClusterTimings, maxConcurrent: Int, locations: Locations, runner: @escaping @Sendable (any RunRecords) -> Runner,
         events: RunEvents, notifier: SystemdNotifier, logger: Logger, shutdownGrace: Duration,
         authorization: Authorization, requireReason: Bool, auditKey: [UInt8]?) {
        self.authorization = authorization
        self.requireReason = requireReason
        self.address = address
        self.timings = timings
        self.maxConcurrent = maxConcurrent
        self.locations = locations
        self.runner = runner
        self.events = events
        self.notifier = notifier
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        runSessions = SessionPool(address, applicationName: "renkeid \(name) runs", idleLimit: max(maxConcurrent, 1))
        node = NodeState(registration: NodeRegistration(name: name), timings: timings, auditKey: auditKey)
    }

    /// The whole life; returns the exit status.
    func run() async -> Int32 {
        loadJobs()
        let setup = NodeConnection(address, applicationName: "renkeid \(node.registration.name)")
        do {
            let version = try await setup.use { try await SchemaMigrator.version($0) }
            guard version == PostgresSchema.latest else {
                logger.critical("cannot start: \(address) has Renkei's schema at version \(version), this renkeid needs \(PostgresSchema.latest); the owner of the tables runs: renkeictl store migrate --store '\(address)'")
                return 1
            }
        } catch let problem as PostgresProblem where problem.kind == .refused || problem.kind == .server {
            logger.critical("cannot start: \(problem)")
            return 1
        } catch {
            // Not reachable now: a storage state, not a reason to stop. Registration retries.
            logger.error("PostgreSQL is not reachable yet: \(error); this node keeps trying every \(timings.heartbeat)")
        }
        await setup.close()
        guard await register(initial: true) else { return 1 }
        // The control socket stays local; what it is asked becomes a request row (`ClusterDesk`).
        let desk = ClusterDesk(address: address, sessions: runSessions, node: node, locations: locations, logger: logger, requireReason: requireReason)
        let server: ControlServer
        do {
            server = try ControlServer(path: locations.socket, authorization: authorization) { call in await desk.handle(call) }
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        defer { server.stop() }
        notifier.ready(status: "node \(node.registration.name) on \(address): following")
        logger.event(.daemonReady, .notice, "renkeid is ready as node \(node.registration.name) (incarnation \(node.registration.incarnation.short)) on \(address); \(maxConcurrent == 0 ? "a standby: it runs nothing, and leads when it holds the lease" : "it runs up to \(maxConcurrent) run(s) at once")",
                     [EventField.node: node.registration.name, EventField.incarnation: node.registration.incarnation.short])

        let heartbeat = Task { await beat() }
        let leadership = Task { await lead() }
        let claims = Task { await claim() }
        let signals = Task { await watchSignals() }
        // systemd's WatchdogSec=: this process's tasks still run (the database may be down; that
        // is the heartbeat's business, not a reason for systemd to restart the node).
        let watchdog = Task {
            guard let interval = notifier.watchdogInterval else { return }
            while !Task.isCancelled {
                notifier.watchdog()
                try? await Task.sleep(for: interval / 2)
            }
        }
        defer { watchdog.cancel() }
        _ = await claims.value
        // Stopping: the runs first (they may still write), then the lease and the row.
        await finishRuns()
        leadership.cancel()
        _ = await leadership.value
        heartbeat.cancel()
        _ = await heartbeat.value
        signals.cancel()
        await runSessions.closeAll()
        let registration = node.registration
        try? await PostgresSession.with(address, applicationName: "renkeid \(registration.name)") { session in
            try await registration.leave(session)
        }
        logger.event(.daemonStopping, .notice, "renkeid node \(registration.name) stopped and left the cluster",
                     [EventField.node: registration.name, EventField.incarnation: registration.incarnation.short])
        return 0
    }

    // MARK: - Jobs

    func loadJobs() {
        let catalog = JobLoader.load(directory: locations.jobs)
        for problem in catalog.problems { logger.event(.jobFileInvalid, .error, "\(problem)", ["RENKEI_FILE": problem.file]) }
        for note in catalog.notes { logger.warning("\(note)") }
        for loaded in catalog.jobs {
            let job = loaded.job, fields = [EventField.job: job.name.rawValue]
            if let reason = ClusterLedger.notRunHere(job) { logger.warning("\(job.name): \(reason); its slots are recorded skipped", metadata: fields.mapValues { .string($0) }) }
            if job.trigger != nil { logger.warning("\(job.name): renkeid on PostgreSQL does not watch trigger: files yet; no run starts for them here", metadata: fields.mapValues { .string($0) }) }
            if job.deadline != nil { logger.warning("\(job.name): renkeid on PostgreSQL does not watch deadlines yet; a late run raises no deadline-breached event", metadata: fields.mapValues { .string($0) }) }
        }
        node.change { state in
            var jobs: [String: LoadedJob] = [:]
            for loaded in catalog.jobs { jobs[loaded.job.name.rawValue] = loaded }
            // A job whose file broke keeps its last good definition, as on one machine.
            let broken = Set(catalog.problems.map { (($0.file as NSString).lastPathComponent as NSString).deletingPathExtension })
            for (name, old) in state.jobs where jobs[name] == nil && broken.contains(name) { jobs[name] = old }
            state.jobs = jobs
            state.jobsChanged = true
        }
    }

    // MARK: - Registration and heartbeat

    /// Registers this node's incarnation; until PostgreSQL answers, tries again every heartbeat.
    /// False when the database refuses for good (the name is alive elsewhere, no privilege).
    func register(initial: Bool) async -> Bool {
        while !node.stopping {
            let registration = node.registration
            let start = ContinuousClock.now
            do {
                try await PostgresSession.with(address, applicationName: "renkeid \(registration.name)") { session in
                    try await recoverEarlierIncarnations(session)
                    try await registration.register(session, host: ProcessInfo.processInfo.hostName, pid: getpid(),
                                                    maxConcurrent: maxConcurrent, timings: timings, process: ProcessIdentity.current.description)
                }
                node.change { $0.fence = .registered(at: start) }
                if !initial {
                    logger.notice("node \(registration.name) registered again as incarnation \(registration.incarnation.short)",
                                  metadata: [EventField.node: "\(registration.name)"])
                }
                return true
            } catch let problem as PostgresProblem where initial && (problem.kind == .refused || problem.kind == .server) {
                // At start a refusal is final (the name is alive elsewhere, no privilege). After a
                // declaration of death the node keeps trying: it must come back when let in again.
                logger.critical("cannot start: \(problem)")
                return false
            } catch {
                notifier.status("node \(registration.name): cannot reach PostgreSQL at \(address); retrying")
                logger.error("node \(registration.name) cannot register: \(error); trying again in \(timings.heartbeat)")
                try? await Task.sleep(for: timings.heartbeat.duration)
            }
        }
        return false
    }

    /// A start on the machine an earlier incarnation of this node ran on (after a crash, a
    /// `kill -9`, a fast restart): the step processes it left are stopped first, then an
    /// incarnation whose renkeid is gone is declared dead, so the name is free and the leader
    /// interrupts and retries its runs — never while their old steps still run.
    func recoverEarlierIncarnations(_ session: PostgresSession) async throws {
        let name = node.registration.name, host = ProcessInfo.processInfo.hostName
        let earlier = try await NodeRestart.alive(session, name: name, host: host)
        func stillRuns(_ incarnation: NodeRestart.EarlierIncarnation) -> Bool {
            if let process = incarnation.process.flatMap(ProcessIdentity.init) { return process.isAlive }
            return kill(incarnation.pid, 0) == 0
        }
        // A renkeid that still runs holds the name: touch nothing of it; registering is refused.
        guard !earlier.contains(where: stillRuns) else { return }
        for step in try await NodeRestart.leftoverSteps(session, name: name, host: host) {
            guard let identity = ProcessIdentity(step.process), identity.isAlive else { continue }
            logger.warning("\(step.job): step \(step.step) of run \(step.runID) (pid \(step.pid)) was left running by an earlier renkeid of node \(name): stopping it (SIGTERM, SIGKILL after \(timings.killGrace))",
                           metadata: [EventField.job: "\(step.job)", EventField.runID: "\(step.runID)", EventField.node: "\(name)"])
            StepExecutor.stopAbandoned(processGroup: step.pid, grace: timings.killGrace)
        }
        for gone in earlier {
            try await NodeRestart.declareGone(session, gone.incarnation)
            logger.notice("node \(name): the earlier incarnation \(gone.incarnation.short) (pid \(gone.pid)) is gone; declared dead, so the leader interrupts its runs and retries them",
                          metadata: [EventField.node: "\(name)", EventField.incarnation: "\(gone.incarnation.short)"])
        }
    }

    /// The heartbeat duty, and the self-fence it drives.
    func beat() async {
        let connection = NodeConnection(address, applicationName: "renkeid \(node.registration.name) heartbeat")
        var missed = 0
        while !Task.isCancelled {
            let start = ContinuousClock.now
            let heartbeat = NodeHeartbeat(node: node.registration)
            let outcome: NodeHeartbeat.Outcome
            do {
                outcome = try await connection.use { session in
                    let outcome = await heartbeat.beat(session)
                    // Thrown, so the connection drops a session PostgreSQL cut (a restart) and the
                    // next beat connects again; kept as an outcome, every later beat would fail on it.
                    if case .failed(let problem) = outcome { throw problem }
                    return outcome
                }
            } catch {
                outcome = .failed(PostgresProblem.from(error, address: address, doing: "stamping the heartbeat"))
            }
            var orders: [SelfFence<ContinuousClock.Instant>.Order] = []
            switch outcome {
            case .alive:
                if missed > 0 {
                    logger.notice("node \(heartbeat.node.name): heartbeat recorded again after \(missed) missed")
                    notifier.status("node \(heartbeat.node.name) on \(address): PostgreSQL reachable again")
                }
                missed = 0
                node.change { $0.fence = $0.fence.heartbeatSucceeded(attemptStart: start) }
            case .declaredDead:
                orders = node.change { state in
                    let (fence, orders) = state.fence.heartbeatFoundDeclaredDead()
                    state.fence = fence
                    return orders
                }
            case .failed(let problem):
                missed += 1
                if missed == 1 {
                    logger.warning("node \(heartbeat.node.name): heartbeat not recorded: \(problem)")
                    // The storage state of one machine's loop: renkeid stays up and keeps trying.
                    notifier.status("storage: node \(heartbeat.node.name) cannot record its heartbeat in PostgreSQL; its steps stop after \(timings.selfFenceAfter) of this")
                }
                node.change { $0.fence = $0.fence.heartbeatFailed() }
            }
            let timings = timings
            orders += node.change { state in
                let (fence, more) = state.fence.advanced(to: .now, timings: timings)
                state.fence = fence
                return more
            }
            for order in orders { await carryOut(order) }
            // The next beat, or sooner when the fence falls due before it.
            var next = start.advanced(by: timings.heartbeat.duration)
            if let due = node.read({ $0.fence.fenceDue(timings: timings) }), due < next { next = due }
            try? await Task.sleep(until: max(next, .now.advanced(by: .milliseconds(50))))
        }
        await connection.close()
    }

    func carryOut(_ order: SelfFence<ContinuousClock.Instant>.Order) async {
        let registration = node.registration
        let fields = [EventField.node: registration.name, EventField.incarnation: registration.incarnation.short]
        switch order {
        case .terminateSteps:
            logger.event(.nodeSelfFenced, .error, "node \(registration.name) could not record its heartbeat for \(timings.selfFenceAfter): it stops its \(node.runCount) run(s) (SIGTERM, SIGKILL after \(timings.killGrace)) and writes nothing more; the leader retries them elsewhere", fields)
            node.terminateSteps()
        case .killSteps:
            if node.runCount > 0 { logger.error("node \(registration.name): SIGKILL to the steps of \(node.runCount) run(s)", metadata: fields.mapValues { .string($0) }) }
            node.killSteps()
        case .registerAgain:
            logger.event(.nodeSelfFenced, .error, "node \(registration.name) was declared dead by the leader (incarnation \(registration.incarnation.short)): its steps were killed, its runs are the leader's to retry; it registers again as a new incarnation", fields)
            // The runs' tasks end once their steps are dead; none of them writes (the claim is lost).
            while node.runCount > 0 { try? await Task.sleep(for: .milliseconds(100)) }
            node.change { $0.registration = NodeRegistration(name: $0.registration.name) }
            _ = await register(initial: false)
        }
    }

    // MARK: - Leadership

    /// The leadership duty: the lease, and while it is held, the ledger, the reaper and owed retries.
    func lead() async {
        let connection = NodeConnection(address, applicationName: "renkeid \(node.registration.name) leader")
        var leadership = Leadership<ContinuousClock.Instant>.following
        var ledger: ClusterLedger?
        while !Task.isCancelled {
            let start = ContinuousClock.now
            let lease = LeaderLease(holder: node.registration.incarnation, timings: timings)
            // The term held, trusted or not: a leader paused past its trust window says it lost it.
            let wasLeading = leadership.term
            if node.mayWrite {
                do {
                    if let term = try await connection.use({ try await lease.acquireOrRenew($0) }) {
                        leadership = leadership.renewed(epoch: term.epoch, attemptStart: start, timings: timings)
                        if wasLeading != term.epoch {
                            ledger = nil
                            logger.event(.leaderElected, .notice, "node \(node.registration.name) leads the cluster (scheduler lease epoch \(term.epoch), held since \(term.acquiredAt.formatted(.iso8601)))",
                                         [EventField.node: node.registration.name, EventField.epoch: "\(term.epoch)"])
                            notifier.status("node \(node.registration.name) on \(address): leader, epoch \(term.epoch)")
                        }
                    } else {
                        leadership = leadership.lost()
                        if let epoch = wasLeading { stepDown(epoch: epoch, why: "another node holds the scheduler lease now") }
                    }
                } catch {
                    leadership = leadership.lost()
                    if let epoch = wasLeading { stepDown(epoch: epoch, why: "the lease could not be renewed: \(error)") }
                }
            } else {
                leadership = leadership.lost()
                if let epoch = wasLeading { stepDown(epoch: epoch, why: "this node cannot record its heartbeat") }
            }
            if leadership.epoch(at: .now) == nil { ledger = nil }

            var next = start.advanced(by: timings.leaseRenewal.duration)
            if let epoch = leadership.epoch(at: .now) {
                if ledger == nil || node.read(\.jobsChanged) {
                    node.change { $0.jobsChanged = false }
                    ledger = ClusterLedger(jobs: node.read(\.jobs), machineZone: machineZone)
                }
                do {
                    let current = ledger!
                    ledger = try await connection.use { session in
                        var ledger = current
                        try await ledger.pass(session, lease: lease, epoch: epoch, node: node, logger: logger)
                        return ledger
                    }
                } catch let fenced as FencedOut {
                    leadership = leadership.lost()
                    stepDown(epoch: epoch, why: "\(fenced)")
                    ledger = nil
                } catch {
                    // The calendar moved on in memory but nothing was written: start it again from the ledger.
                    logger.error("leader pass failed: \(error); the next pass starts again from the slots on record")
                    ledger = nil
                }
                // Wake for the next slot if it comes before the next renewal.
                if let slot = ledger?.nextWakeUp {
                    let wait = Duration.microseconds(max(slot.microsecondsSinceEpoch - Instant(Date()).microsecondsSinceEpoch, 0))
                    next = min(next, ContinuousClock.now.advanced(by: wait))
                }
            }
            try? await Task.sleep(until: max(next, .now.advanced(by: .milliseconds(20))))
        }
        // A clean stop gives the lease up, so the next leader need not wait for its TTL. This task
        // is cancelled by now and PostgresNIO would refuse the query: the release runs in its own.
        if let epoch = leadership.epoch(at: .now) {
            let lease = LeaderLease(holder: node.registration.incarnation, timings: timings)
            let released = await Task { (try? await connection.use { try await lease.release($0, epoch: epoch) }) ?? false }.value
            if released { logger.notice("node \(node.registration.name) gave the scheduler lease up (epoch \(epoch)); another node may lead at once") }
        }
        await Task { await connection.close() }.value
    }

    func stepDown(epoch: Int64, why: String) {
        logger.event(.leadershipLost, .warning, "node \(node.registration.name) no longer leads (epoch \(epoch)): \(why); it stopped recording slots",
                     [EventField.node: node.registration.name, EventField.epoch: "\(epoch)"])
        notifier.status("node \(node.registration.name) on \(address): following")
    }

    // MARK: - Claims and runs

    /// The claims duty: takes queued runs while there is room here, until SIGTERM.
    func claim() async {
        let connection = NodeConnection(address, applicationName: "renkeid \(node.registration.name) claims")
        while !node.stopping {
            if node.runCount < maxConcurrent && node.mayWrite {
                let incarnation = node.registration.incarnation
                do {
                    if let claim = try await connection.use({ try await RunClaims.claimNext($0, node: incarnation) }) {
                        start(claim, claims: connection)
                        continue
                    }
                } catch {
                    logger.warning("node \(node.registration.name) cannot claim queued runs: \(error)")
                }
            }
            await takeCancels(connection)
            // Other nodes' queued runs are found within half a second; this node's own at once.
            for _ in 0..<5 where !node.stopping && !node.change({ state in defer { state.runsQueued = false }; return state.runsQueued }) {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await connection.close()
    }

    /// Runs a claimed run in a task of its own, on a connection of its own.
    func start(_ claim: RunClaim, claims: NodeConnection) {
        let task = Task {
            defer { node.runEnded(claim.runID) }
            await perform(claim, claims: claims)
        }
        node.runStarted(claim.runID, task: task)
    }

    /// The run's own connection and its row, tried a few times; nil when they cannot be had:
    /// the run, none of whose steps started, is given back to the queue.
    private func open(_ claim: RunClaim, claims: NodeConnection) async -> (PostgresSession, RunRecord)? {
        let registration = node.registration
        var lastError: any Error = CancellationError()
        for attempt in 1...5 {
            do {
                let session = try await runSessions.take()
                if let row = try await PostgresRunReading.run(session, id: claim.runID) { return (session, row) }
                await runSessions.give(session)
                return nil
            } catch {
                lastError = error
                if attempt < 5 { try? await Task.sleep(for: .seconds(1)) }
            }
        }
        let givenBack = (try? await claims.use { try await RunClaims.giveBack($0, claim) }) ?? false
        logger.error("run \(claim.runID) was claimed but its connection could not be opened: \(lastError); \(givenBack ? "it is queued again for any node" : "it stays this node's until this node restarts or is declared dead, then it is interrupted and retried")",
                     metadata: [EventField.runID: "\(claim.runID)", EventField.node: "\(registration.name)"])
        return nil
    }

    private func perform(_ claim: RunClaim, claims: NodeConnection) async {
        let registration = node.registration
        let fields = [EventField.runID: "\(claim.runID)", EventField.node: registration.name]
        guard let (session, queued) = await open(claim, claims: claims) else { return }
        defer { Task { await runSessions.give(session) } }
        guard let loaded = node.read({ $0.jobs[queued.job] }) else {
            let records = ClaimedRunRecords(session: session, claim: claim, job: Job(name: JobName(queued.job) ?? JobName("unknown")!, steps: []))
            let outcome = RunOutcome(state: .failed, errorClass: .spawn,
                                     message: "job \(queued.job) is not defined on node \(registration.name) (no valid \(queued.job).yaml in \(locations.jobs)): every node needs the same job files")
            if let ended = try? await records.finish(runID: claim.runID, outcome: outcome, at: Date()) { events.ended(ended, job: nil, retryAt: nil) }
            return
        }
        let records = NodeRunRecords(claimed: ClaimedRunRecords(session: session, claim: claim, job: loaded.job), node: node)
        var request = RunRequest(job: loaded, logicalTime: queued.logical, trigger: queued.trigger, attempt: queued.attempt)
        request.rerunOf = queued.rerunOf
        request.retryOf = queued.retryOf
        request.cancellation = node.cancellation(of: claim.runID)
        let events = events
        do {
            let ended = try await runner(records).perform(request, queued: queued) { row in
                events.started(row, job: loaded.job)
            }
            events.ended(ended, job: loaded.job, retryAt: nil)
        } catch let lost as RunNotRecorded where lost.failure is ClaimedRunRecords.LostClaim || lost.failure is NodeRunRecords.Fenced {
            logger.event(.runLost, .error, "\(queued.job): run \(claim.runID) for \(queued.logical.iso8601) is no longer this node's: \(lost.failure); what it did here was not recorded",
                         fields.merging([EventField.job: queued.job]) { a, _ in a })
        } catch let unrecorded as RunNotRecorded {
            // The database refused or lost the end twice (a restart, a full disk on its side): the
            // run must not stay `running` under a node that is alive, where no reaper looks. Its end
            // is tried again every heartbeat until written, the claim lost, or this node fences itself.
            logger.error("\(queued.job): the end of run \(claim.runID) could not be recorded: \(unrecorded.failure); trying again every \(timings.heartbeat)",
                         metadata: fields.mapValues { .string($0) })
            while !Task.isCancelled {
                try? await Task.sleep(for: timings.heartbeat.duration)
                do {
                    let ended = try await records.finish(runID: claim.runID, outcome: unrecorded.outcome, at: Date())
                    events.ended(ended, job: loaded.job, retryAt: nil)
                    return
                } catch is ClaimedRunRecords.LostClaim {
                    return
                } catch is NodeRunRecords.Fenced {
                    return
                } catch {
                    continue
                }
            }
        } catch {
            logger.error("\(queued.job): run \(claim.runID) could not be run: \(error)", metadata: fields.mapValues { .string($0) })
        }
    }

    /// After SIGTERM: lets running runs finish for `--shutdown-grace`, then stops them.
    func finishRuns() async {
        let count = node.runCount
        guard count > 0 else { return }
        notifier.stopping(status: "stopping: \(count) run(s) to finish")
        let deadline = ContinuousClock.now.advanced(by: shutdownGrace)
        while node.runCount > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        if node.runCount > 0 {
            logger.warning("\(node.runCount) run(s) still running after the shutdown grace: stopping them (recorded interrupted, retried by policy)")
            node.terminateSteps()
            while node.runCount > 0 { try? await Task.sleep(for: .milliseconds(100)) }
        }
    }

    // MARK: - Signals

    func watchSignals() async {
        var stops = 0
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) {
            switch signal {
            case .sighup:
                notifier.reloading()
                loadJobs()
                logger.event(.daemonReloaded, .notice, "node \(node.registration.name) reloaded its job files (\(node.read(\.jobs.count)) jobs)")
                notifier.ready(status: "node \(node.registration.name) on \(address)")
            default:
                stops += 1
                node.change { $0.stopping = true }
                if stops == 1 {
                    logger.event(.daemonStopping, .notice, "renkeid node \(node.registration.name) stops claiming runs (\(signal)); running runs get \(shutdownGrace) to finish")
                } else {
                    logger.warning("second stop signal: stopping running runs now")
                    node.terminateSteps()
                }
            }
        }
    }
}

extension UUID {
    /// An incarnation as `renkeictl status` shows it: its first eight hex digits.
    var short: String { String(uuidString.lowercased().prefix(8)) }
}
