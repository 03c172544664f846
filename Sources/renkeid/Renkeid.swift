import ArgumentParser
import Dispatch
import Foundation
import Logging
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd
import RenkeiControl

extension LogTarget: ExpressibleByArgument {}

/// The daemon's command line. `renkeid` runs in the foreground (systemd's Type=notify), logs to
/// standard error, and stops on SIGTERM or SIGINT; SIGHUP reloads the job files.
@main
struct Renkeid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renkeid",
        abstract: "The Renkei daemon: runs data-link jobs on their schedules and records every slot.",
        discussion: """
            Signals: SIGHUP reloads the job files; SIGTERM or SIGINT stops dispatching and waits \
            --shutdown-grace for running runs (a second one stops them at once).

            Example:
              renkeid --jobs /etc/renkei/jobs --state /var/lib/renkei --max-concurrent 8
            """
    )

    @Option(help: ArgumentHelp("Directory of job files (default: $RENKEI_JOBS, $CONFIGURATION_DIRECTORY/jobs, ./Jobs in a checkout, else /etc/renkei/jobs).", valueName: "DIR"))
    var jobs: String?

    @Option(help: ArgumentHelp("State directory (default: $RENKEI_STATE, $STATE_DIRECTORY, ./.renkei in a checkout, else /var/lib/renkei).", valueName: "DIR"))
    var state: String?

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

    func validate() throws {
        guard maxConcurrent >= 1 && maxConcurrent <= 1000 else { throw ValidationError("--max-concurrent must be 1 to 1000") }
        guard shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must be 0 or more seconds") }
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
            store = try stateDirectory.openStoreForWriting()
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let authorization = Authorization(operatorsGroup: operatorsGroup)
        let daemon = Daemon(locations: locations, store: store, maxConcurrent: maxConcurrent,
                            shutdownGrace: .seconds(shutdownGrace), logger: logger,
                            output: toJournal ? .journal(logger: logger) : .console,
                            authorization: authorization, requireReason: requireReason)
        // Requests write to the store (their run's row, the audit chain) on threads of their own.
        let requestThreads = BlockingThreads(count: 8, name: "renkei-request")
        let server: ControlServer
        do {
            server = try ControlServer(path: locations.socket, authorization: authorization) { call in
                await withTaskExecutorPreference(requestThreads) { await daemon.handle(call) }
            }
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        let signals = SignalHandlers(daemon: daemon)
        let status = await daemon.run()
        server.stop()
        signals.stop()
        withExtendedLifetime(lock) {}
        if status != 0 { throw ExitCode(status) }
    }
}

/// SIGTERM/SIGINT ask the daemon to stop, SIGHUP to reload; the default actions are ignored.
final class SignalHandlers {
    private let sources: [DispatchSourceSignal]

    init(daemon: Daemon) {
        var sources: [DispatchSourceSignal] = []
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGHUP, "SIGHUP")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Task {
                    if number == SIGHUP { await daemon.requestReload() } else { await daemon.requestStop(name) }
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func stop() {
        for source in sources { source.cancel() }
    }
}
