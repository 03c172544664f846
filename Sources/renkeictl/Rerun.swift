import ArgumentParser
import Foundation
import RenkeiControl
import RenkeiRuntime

struct Rerun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Run a failed link again for exactly the same data (the same logical time).",
        discussion: """
            By default the new run starts at the step that failed and reuses the earlier run's work \
            directory (the steps before it show as 'reused'). --from-top runs every step in a fresh \
            copy of that directory; --only STEP runs one step. When the rerun succeeds, the failure \
            (and every failed attempt of its logical time) is resolved by it.

            --failed plans one rerun per unresolved failed logical time, oldest first, and changes \
            nothing until --yes is given.

            Examples:
              renkeictl rerun 412 --reason "target inbox recreated (ticket 2031)" --wait
              renkeictl rerun 412 --from-top
              renkeictl rerun --failed --since 2026-11-01
              renkeictl rerun --failed --since 2026-11-01 --yes --reason "after the network outage"
            """
    )

    @OptionGroup var location: LocationOptions

    @Argument(help: ArgumentHelp("The run to repeat (from 'renkeictl history').", valueName: "RUN"))
    var runID: Int64?

    @Flag(help: "Run every step, in a fresh copy of the earlier run's work directory.")
    var fromTop = false

    @Option(help: ArgumentHelp("Run only this step, in the earlier run's work directory.", valueName: "STEP"))
    var only: String?

    @Flag(help: "Rerun even a run that succeeded (the data is delivered again).")
    var force = false

    @Option(help: ArgumentHelp("Why; kept with the run and in the audit log.", valueName: "TEXT"))
    var reason: String?

    @Flag(help: "Follow the run until it ends; exit 0 if it succeeded, 1 if not.")
    var wait = false

    @Flag(help: "Plan reruns of every unresolved failure (with --yes: carry them out).")
    var failed = false

    @Option(help: ArgumentHelp("With --failed: only this job.", valueName: "JOB"))
    var job: String?

    @Option(help: ArgumentHelp("With --failed: failures from T on.", valueName: "T"))
    var since: String?

    @Option(help: ArgumentHelp("With --failed: failures before T.", valueName: "T"))
    var until: String?

    @Flag(help: "With --failed: carry out the plan.")
    var yes = false

    @Flag(help: "Rerun in this process, without the daemon (when it is stopped for maintenance).")
    var local = false

    func validate() throws {
        if failed {
            guard runID == nil else { throw ValidationError("give either RUN or --failed, not both") }
        } else {
            guard runID != nil else { throw ValidationError("which run? give its id (renkeictl history), or --failed") }
            guard !(fromTop && only != nil) else { throw ValidationError("--from-top and --only do not go together") }
            guard job == nil && since == nil && until == nil && !yes else { throw ValidationError("--job, --since, --until and --yes go with --failed") }
        }
        if local && (failed || wait) { throw ValidationError("--local reruns one run in the foreground: no --failed, no --wait") }
    }

    func run() async throws {
        let locations = location.locations
        let mode: ControlRequest.RerunMode = fromTop ? .fromTop : (only != nil ? .only : .fromFailed)
        if local {
            let audited = ControlRequest(operation: .rerun, run: runID, reason: reason, mode: mode, step: only, force: force)
            let store = try openForReading(locations)
            guard let detail = try store.detail(runID: runID!) else {
                await LocalRun.auditRefusal(audited, locations: locations, reason: reason, "refused: no such run")
                throw Failure(.noSuchJobOrRun, "no run \(runID!) (see renkeictl history)")
            }
            let loaded = JobLoader.load(directory: locations.jobs).job(named: detail.run.job)
            switch RerunPreparation.request(rerunning: detail, job: loaded, mode: mode, step: only, force: force, requester: .current, reason: reason) {
            case .failure(let refusal):
                await LocalRun.auditRefusal(audited, locations: locations, reason: reason, "refused: \(refusal.message)")
                throw Failure(ExitStatus(rawValue: refusal.status) ?? .usage, refusal.message)
            case .success(let request):
                try await LocalRun.perform(request, locations: locations, audited: audited, printOutput: false)
            }
            return
        }
        if failed {
            let response = try askDaemon(locations, ControlRequest(operation: .rerunFailed, job: job, reason: reason, since: since, until: until, yes: yes))
            let plan = response.plan ?? []
            if !plan.isEmpty {
                var rows = [["RUN", "JOB", "LOGICAL TIME", "FROM", "ERROR"] + (yes ? ["RERUN"] : [])]
                for item in plan {
                    rows.append([String(item.run), item.job, item.logicalTime, item.from, String(item.error.prefix(60))] + (yes ? [item.rerun.map(String.init) ?? "refused"] : []))
                }
                print(Table.render(rows))
            }
            print(response.message)
            return
        }
        let response = try askDaemon(locations, ControlRequest(operation: .rerun, run: runID, reason: reason, mode: mode, step: only, force: force))
        print(response.message)
        if wait, let id = response.runs?.first?.id {
            if !(try waitForRun(locations, id)) { throw ExitCode(ExitStatus.runDidNotSucceed.rawValue) }
        }
    }
}
