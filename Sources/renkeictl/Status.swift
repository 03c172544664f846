import ArgumentParser
import Foundation
import RenkeiControl
import RenkeiCore
import RenkeiRuntime

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether renkeid runs, its running and queued runs, and the next slots.",
        discussion: "Example:\n  renkeictl status"
    )

    @OptionGroup var location: LocationOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let response = try askDaemon(location.locations, ControlRequest(operation: .status))
        if json {
            print(try JSONOutput.encode(response.daemon))
            return
        }
        print(response.message)
        guard let daemon = response.daemon else { return }
        if let storage = daemon.storage { print("  storage: \(storage)") }
        for run in daemon.running { print("  running: run \(run.id) \(run.job) for \(run.logicalTime) (\(run.trigger))") }
        for held in daemon.held ?? [] { print("  held: \(held)") }
        if let notifications = daemon.notifications { print("  notifications: \(notifications)") }
        for run in daemon.waiting ?? [] { print("  waiting: run \(run.id) \(run.job) for \(run.logicalTime), \(run.state)") }
        for next in daemon.next.prefix(5) { print("  next: \(next)") }
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
        print(try askDaemon(location.locations, ControlRequest(operation: .cancel, run: runID, reason: reason)).message)
    }
}
