import ArgumentParser
import Foundation
import RenkeiControl
import RenkeiCore
import RenkeiRuntime

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether renkeid runs, its running and queued runs, and the next slots.",
        discussion: """
            With a PostgreSQL store (--store or RENKEI_STORE), shows the cluster from the database \
            instead: each node and its last heartbeat, the leader and its epoch, each node's running runs.

            Examples:
              renkeictl status
              renkeictl status --store "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    @OptionGroup var location: LocationOptions

    @Option(name: .long, help: ArgumentHelp("A PostgreSQL store: show the cluster from the database (default: $RENKEI_STORE when it names PostgreSQL).", valueName: "URL"))
    var store: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        if let address = try ClusterStatusCommand.address(store: store) {
            try await ClusterStatusCommand.run(address, json: json)
            return
        }
        let response = try askDaemon(location.locations, ControlRequest(operation: .status))
        if json {
            print(try JSONOutput.encode(response.daemon))
            return
        }
        print(SafeText.visibleLines(response.message))
        guard let daemon = response.daemon else { return }
        // Every line may carry text from a job file, the store or an operator (a hold's reason).
        var lines: [String] = []
        if let storage = daemon.storage { lines.append("  storage: \(storage)") }
        for run in daemon.running { lines.append("  running: run \(run.id) \(run.job) for \(run.logicalTime) (\(run.trigger))") }
        for held in daemon.held ?? [] { lines.append("  held: \(held)") }
        if let notifications = daemon.notifications { lines.append("  notifications: \(notifications)") }
        for run in daemon.waiting ?? [] { lines.append("  waiting: run \(run.id) \(run.job) for \(run.logicalTime), \(run.state)") }
        for next in daemon.next.prefix(5) { lines.append("  next: \(next)") }
        for line in lines { print(SafeText.visible(line)) }
    }
}

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List the jobs renkeid runs: schedule, next run, last state.",
        discussion: "Example:\n  renkeictl jobs"
    )

    @OptionGroup var location: LocationOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let jobs = try askDaemon(location.locations, ControlRequest(operation: .jobs)).jobs ?? []
        if json {
            print(try JSONOutput.encode(jobs))
            return
        }
        var rows = [["JOB", "SCHEDULE", "ZONE", "NEXT", "LAST"]]
        for job in jobs {
            rows.append([job.name, job.schedule ?? "manual", job.timezone, job.nextRun ?? "-",
                         job.lastState.map { "\($0) (run \(job.lastRun ?? 0))" } ?? "-"])
            if let held = job.held { rows.append(["", "└─ \(held)", "", "", ""]) }
        }
        print(Table.render(rows))
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Stop a running or queued run; it is recorded cancelled.",
        discussion: "Example:\n  renkeictl cancel 412 --reason \"wrong file delivered by the source system\""
    )

    @OptionGroup var location: LocationOptions

    @Argument(help: ArgumentHelp("The run id.", valueName: "RUN"))
    var runID: Int64

    @Option(help: ArgumentHelp("Why; kept in the audit log.", valueName: "TEXT"))
    var reason: String?

    func validate() throws {
        if let problem = SafeText.reasonProblem(reason) { throw ValidationError("--reason: \(problem)") }
    }

    func run() throws {
        print(SafeText.visibleLines(try askDaemon(location.locations, ControlRequest(operation: .cancel, run: runID, reason: reason)).message))
    }
}
