import ArgumentParser
import Foundation
import Logging
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd
import RenkeiControl
import RenkeiCore
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

    @Option(help: "At most this many runs at once; the rest wait in slot order.")
    var maxConcurrent: Int = 8

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

    func validate() throws {
        guard maxConcurrent >= 1 && maxConcurrent <= 1000 else { throw ValidationError("--max-concurrent must be 1 to 1000") }
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
