import ArgumentParser
import Foundation
import RenkeiControl
import RenkeiCore
import RenkeiRuntime

struct Rerun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Run a failed link again for exactly the same data (the same logical time).",
        discussion: """
            By default the new run starts at the step that failed and reuses the earlier run's work \
            directory (the steps before it show as 'reused'). --from-top runs every step in a fresh \
            copy of that directory; --only STEP runs one step; --from-next skips the failed step (the \
            operator did it by hand: it is recorded skipped_by_operator, and --reason is required) \
            and runs the rest. When the rerun succeeds, the failure (and every failed attempt of its \
            logical time) is resolved by it.

            --downstream also reruns every job that depends on this run's job (after:, \
            transitively), for the same business date, in dependency order: each starts only once \
            the reruns of its upstreams succeeded; a failure stops the chain there and the rest \
            are recorded not run. It prints the plan and changes nothing until --yes is given.

            --failed plans one rerun per unresolved failed logical time, oldest first, and changes \
            nothing until --yes is given.

            Examples:
              renkeictl rerun 412 --reason "target inbox recreated (ticket 2031)" --wait
              renkeictl rerun 412 --from-top
              renkeictl rerun 412 --from-next --reason "file sent by hand to the welfare section (ticket 2032)"
              renkeictl rerun 412 --downstream
              renkeictl rerun 412 --downstream --yes --reason "corrected registry export"
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

    @Flag(help: "Skip the failed step (done by hand; needs --reason) and run the steps after it.")
    var fromNext = false

    @Flag(help: "Also rerun every job that depends on this one, for the same date (with --yes: carry it out).")
    var downstream = false

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
        if let problem = SafeText.reasonProblem(reason) { throw ValidationError("--reason: \(problem)") }
        if failed {
            guard runID == nil else { throw ValidationError("give either RUN or --failed, not both") }
        } else {
            guard runID != nil else { throw ValidationError("which run? give its id (renkeictl history), or --failed") }
            guard [fromTop, only != nil, fromNext].filter({ $0 }).count <= 1 else { throw ValidationError("--from-top, --only and --from-next do not go together") }
            guard job == nil && since == nil && until == nil else { throw ValidationError("--job, --since and --until go with --failed") }
            guard !yes || downstream else { throw ValidationError("--yes goes with --failed or --downstream") }
        }
        if local && (failed || wait || downstream) { throw ValidationError("--local reruns one run in the foreground: no --failed, --downstream or --wait") }
        if downstream && wait { throw ValidationError("--downstream makes several runs: follow them with renkeictl status, not --wait") }
    }

    func run() async throws {
        let locations = location.locations
        let mode: ControlRequest.RerunMode = fromTop ? .fromTop : only != nil ? .only : fromNext ? .fromNext : .fromFailed
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
        if failed || downstream {
            var request = ControlRequest(operation: failed ? .rerunFailed : .rerun, job: job, run: runID, reason: reason, since: since, until: until, yes: yes)
            if downstream {
                request.mode = mode
                request.step = only
                request.force = force
                request.downstream = true
            }
            let response = try askDaemon(locations, request)
            let plan = response.plan ?? []
            if !plan.isEmpty {
                var rows = [["RUN", "JOB", "LOGICAL TIME", "FROM", "ERROR"] + (yes ? ["RERUN"] : [])]
                for item in plan {
                    let run: String = item.run == 0 ? "-" : String(item.run)
                    var row: [String] = [run, item.job, item.logicalTime, item.from, String(item.error.prefix(60))]
                    if yes { row.append(item.rerun.map { String($0) } ?? "refused") }
                    rows.append(row)
                }
                print(Table.render(rows))
            }
            print(SafeText.visibleLines(response.message))
            return
        }
        let response = try askDaemon(locations, ControlRequest(operation: .rerun, run: runID, reason: reason, mode: mode, step: only, force: force))
        print(SafeText.visibleLines(response.message))
        if wait, let id = response.runs?.first?.id {
            if !(try waitForRun(locations, id)) { throw ExitCode(ExitStatus.runDidNotSucceed.rawValue) }
        }
    }
}
