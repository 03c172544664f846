import ArgumentParser
import Foundation
import Logging
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd
import RenkeiControl
import RenkeiCore
import RenkeiPostgres
import ServiceLifecycle
import UnixSignals

extension LogTarget: ExpressibleByArgument {}

/// The daemon's command line. `renkeid` runs in the foreground (systemd's Type=notify), logs to
/// standard error, and stops on SIGTERM or SIGINT; SIGHUP reloads the job files.
@main
struct Renkeid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renkeid",
        abstract: "The Renkei daemon: runs data-link jobs on their schedules and records every slot.",
        discussion: """
            Signals: SIGHUP reloads the job files and renkei.yaml; SIGTERM or SIGINT stops dispatching and waits \
            --shutdown-grace for running runs (a second one stops them at once).

            Example:
              renkeid --jobs /etc/renkei/jobs --state /var/lib/renkei --max-concurrent 8
            """
    )

    @Option(help: ArgumentHelp("Directory of job files (default: $RENKEI_JOBS, $CONFIGURATION_DIRECTORY/jobs, ./Jobs in a checkout, else /etc/renkei/jobs).", valueName: "DIR"))
    var jobs: String?

    @Option(help: ArgumentHelp("State directory (default: $RENKEI_STATE, $STATE_DIRECTORY, ./.renkei in a checkout, else /var/lib/renkei).", valueName: "DIR"))
    var state: String?

    @Option(help: ArgumentHelp("Site configuration file (default: $RENKEI_CONFIG, $CONFIGURATION_DIRECTORY/renkei.yaml, ./renkei.yaml in a checkout, else /etc/renkei/renkei.yaml); none there: defaults.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Control socket path (default: $RENKEI_SOCKET, $RUNTIME_DIRECTORY/control.sock, …).", valueName: "PATH"))
    var socket: String?

    @Option(help: "At most this many runs at once; the rest wait in slot order. 0 (PostgreSQL only): a standby that runs nothing and leads when it holds the lease.")
    var maxConcurrent: Int = 8

    @Option(help: ArgumentHelp("Where runs are recorded (default: $RENKEI_STORE, else SQLite in the state directory): sqlite:PATH, or postgresql:///DB?host=SOCKET_DIR&user=ROLE to be one node of several.", valueName: "URL"))
    var store: String?

    @Option(help: ArgumentHelp("This node's name on PostgreSQL (default: the host name); one alive renkeid per name.", valueName: "NAME"))
    var nodeName: String?

    @Option(help: ArgumentHelp("PostgreSQL: how long a renewal keeps the scheduler lease.", valueName: "DURATION"))
    var leaseTtl = "15s"
    @Option(help: ArgumentHelp("PostgreSQL: how often the leader renews it.", valueName: "DURATION"))
    var leaseRenew = "5s"
    @Option(help: ArgumentHelp("PostgreSQL: how long before the lease's end the leader stops acting on its own.", valueName: "DURATION"))
    var leaseMargin = "1s"
    @Option(help: ArgumentHelp("PostgreSQL: how often each node records its heartbeat.", valueName: "DURATION"))
    var heartbeat = "5s"
    @Option(help: ArgumentHelp("PostgreSQL: silence after which the leader declares a node dead and interrupts its runs.", valueName: "DURATION"))
    var deadAfter = "30s"
    @Option(help: ArgumentHelp("PostgreSQL: silence after which a node that cannot record its heartbeat stops its own steps.", valueName: "DURATION"))
    var selfFenceAfter = "20s"
    @Option(help: ArgumentHelp("PostgreSQL: SIGTERM → SIGKILL grace of that self-fence.", valueName: "DURATION"))
    var fenceKillGrace = "10s"
    @Option(help: ArgumentHelp("PostgreSQL: wait after declaring a node dead before its runs are retried elsewhere.", valueName: "DURATION"))
    var retryGrace = "10s"

    @Option(help: ArgumentHelp("How long running runs may take to finish after SIGTERM, in seconds.", valueName: "SECONDS"))
    var shutdownGrace: Int = 60

    @Option(help: ArgumentHelp("Where events go: journal, console (standard error), or auto (the journal when its socket exists).", valueName: "TARGET"))
    var logTarget: LogTarget = .auto

    @Option(help: ArgumentHelp("Members of this group may use renkeictl (besides root and the user renkeid runs as).", valueName: "GROUP"))
    var operatorsGroup: String = "renkei"

    @Flag(help: "Refuse run, rerun and cancel requests that give no --reason.")
    var requireReason = false

    @Option(help: ArgumentHelp("Keep finished runs' output tails and work directories this long, for jobs whose file names no retention: (days, or a duration such as 90d).", valueName: "DAYS"))
    var retention = "90d"

    @Option(help: ArgumentHelp("The local time of the daily purge of runs older than their retention.", valueName: "HH:MM"))
    var purgeAt = "03:00"

    /// The store named by `--store`, `RENKEI_STORE` or `store:` in renkei.yaml; nil: SQLite in the state directory.
    func storeLocation() throws -> StoreLocation? {
        try StoreChoice.named(flag: store, configPath: SiteConfigurationFile.path(config))?.location
    }

    /// The cluster timings from their flags, their invariants checked (`ClusterTimings.validated`).
    func clusterTimings() throws -> ClusterTimings {
        func duration(_ text: String, _ flag: String) throws -> JobDuration {
            do { return try JobDuration.parse(text) } catch {
                throw ValidationError("\(flag) '\(text)': \(error); write a duration such as 15s or 1m")
            }
        }
        let timings = ClusterTimings(
            leaseTTL: try duration(leaseTtl, "--lease-ttl"), leaseRenewal: try duration(leaseRenew, "--lease-renew"),
            leaseMargin: try duration(leaseMargin, "--lease-margin"), heartbeat: try duration(heartbeat, "--heartbeat"),
            deadAfter: try duration(deadAfter, "--dead-after"), selfFenceAfter: try duration(selfFenceAfter, "--self-fence-after"),
            killGrace: try duration(fenceKillGrace, "--fence-kill-grace"), retryGrace: try duration(retryGrace, "--retry-grace"))
        do { return try timings.validated() } catch { throw ValidationError(error.description) }
    }

    func validate() throws {
        let location: StoreLocation?
        do { location = try storeLocation() } catch { throw ValidationError("\(error)") }
        if case .postgresql = location {
            guard maxConcurrent >= 0 && maxConcurrent <= 1000 else { throw ValidationError("--max-concurrent must be 0 to 1000 on PostgreSQL (0: a standby)") }
            _ = try clusterTimings()
            if let nodeName, nodeName.isEmpty || nodeName.count > 63 || nodeName.contains(where: { $0.isWhitespace || $0.isNewline }) {
                throw ValidationError("--node-name '\(nodeName)': 1 to 63 characters without spaces")
            }
        } else {
            guard maxConcurrent >= 1 && maxConcurrent <= 1000 else { throw ValidationError("--max-concurrent must be 1 to 1000 (0, a standby, only with --store postgresql:…)") }
        }
        guard shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must be 0 or more seconds") }
        guard let retention = Self.retention(retention), retention > .zero else {
            throw ValidationError("--retention must be a number of days or a positive duration such as 90d")
        }
        guard TimeOfDay(purgeAt) != nil else { throw ValidationError("--purge-at must be a local time HH:MM such as 03:00, found '\(purgeAt)'") }
    }

    func run() async throws {
        logTarget.bootstrap(identifier: "renkeid")
        let logger = Logger(label: "renkeid")
        let toJournal = logTarget == .journal || (logTarget == .auto && Journal.isAvailable)
        let locations = Locations.resolve(jobs: jobs, state: state, socket: socket)
        let stateDirectory = StateDirectory(locations.state)
        if case .postgresql(let address) = try? storeLocation() {
            throw ExitCode(await runAsNode(on: address, locations: locations, stateDirectory: stateDirectory, logger: logger, toJournal: toJournal))
        }
        if case .sqlite(let path) = try? storeLocation(), path != stateDirectory.database {
            logger.critical("cannot start: --store sqlite:\(path) is not this state directory's store (\(stateDirectory.database)); give --state the directory instead")
            throw ExitCode(2)
        }
        let store: RunStore
        let lock: DaemonLock
        do {
            try stateDirectory.prepare()
            lock = try DaemonLock(state: stateDirectory)
            store = try stateDirectory.openStoreForWriting(operatorsGroup: operatorsGroup,
                                                           auditKey: try AuditKey.load(environment: ProcessInfo.processInfo.environment),
                                                           auditEvents: AuditEvents(logger: logger))
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let authorization = Authorization(operatorsGroup: operatorsGroup)
        let inbox = Inbox()
        let events = RunEvents(logger: logger)
        let runner = Runner(state: stateDirectory, store: store, sink: (toJournal ? OutputDestination.journal(logger: logger) : .console).sink,
                            cancelledMeans: .interrupted, onFile: { run, step, file in events.file(file, step: step, of: run) })
        let daemon = Daemon(locations: locations, store: store, runner: runner, notifier: SystemdNotifier(), logger: logger, events: events,
                            shutdownGrace: .seconds(shutdownGrace), maxConcurrent: maxConcurrent, inbox: inbox, exitStatus: Daemon.ExitStatus(),
                            retention: Self.retention(retention) ?? Purge.defaultRetention, purgeAt: TimeOfDay(purgeAt) ?? TimeOfDay("03:00")!,
                            configPath: SiteConfigurationFile.path(config))
        let desk = ControlDesk(store: store, runner: runner, logger: logger, locations: locations, inbox: inbox, requireReason: requireReason)
        let server: ControlServer
        do {
            server = try ControlServer(path: locations.socket, authorization: authorization) { call in await desk.handle(call) }
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        // The loop ends the group when it has stopped (SIGTERM, or a store that must be reopened);
        // the socket and the signal watcher then end with it.
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: ControlService(server: server)),
                .init(service: SignalService(inbox: inbox)),
            ],
            gracefulShutdownSignals: [],
            logger: logger
        ))
        try await group.run()
        store.close()
        withExtendedLifetime(lock) {}
        let status = daemon.exitStatus.status
        if status != 0 { throw ExitCode(status) }
    }
}

extension Renkeid {
    /// renkeid as one node of several on PostgreSQL (`ClusterNode`). The state directory keeps
    /// the runs' work directories and locks; the runs themselves are rows on PostgreSQL.
    func runAsNode(on address: PostgresAddress, locations: Locations, stateDirectory: StateDirectory, logger: Logger, toJournal: Bool) async -> Int32 {
        let lock: DaemonLock
        do {
            try stateDirectory.prepare()
            lock = try DaemonLock(state: stateDirectory)
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        defer { withExtendedLifetime(lock) {} }
        let auditKey: [UInt8]?
        do { auditKey = try AuditKey.load(environment: ProcessInfo.processInfo.environment) } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
        let events = RunEvents(logger: logger)
        let name = nodeName ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "renkeid"
        let sink = (toJournal ? OutputDestination.journal(logger: logger) : .console).sink
        let runner: @Sendable (any RunRecords) -> Runner = { records in
            Runner(state: stateDirectory, records: records, sink: sink, cancelledMeans: .interrupted,
                   onFile: { run, step, file in events.file(file, step: step, of: run) })
        }
        let node = ClusterNode(address: address, name: name, timings: (try? clusterTimings()) ?? .standard, maxConcurrent: maxConcurrent,
                               locations: locations, runner: runner, events: events, notifier: SystemdNotifier(), logger: logger,
                               shutdownGrace: .seconds(shutdownGrace), authorization: Authorization(operatorsGroup: operatorsGroup),
                               requireReason: requireReason, auditKey: auditKey)
        return await node.run()
    }
}

/// The control socket as a service: it serves from start until the group shuts down.
struct ControlService: Service {
    let server: ControlServer

    func run() async {
        try? await gracefulShutdown()
        server.stop()
    }
}

/// SIGTERM and SIGINT (stop; a second one stops running runs now) and SIGHUP (reload), as mail
/// for the loop. Not the group's own graceful-shutdown signals: the loop decides when it is done.
struct SignalService: Service {
    let inbox: Inbox

    func run() async {
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup).cancelOnGracefulShutdown() {
            switch signal {
            case .sighup: inbox.send(.reload)
            case .sigterm: inbox.send(.stopRequested(signal: "SIGTERM"))
            default: inbox.send(.stopRequested(signal: "SIGINT"))
            }
        }
    }
}
