import ArgumentParser
import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Clear the output and work directories of runs older than their retention.",
        discussion: """
            renkeid does this daily at 03:00; this does it now. For each finished run older than \
            its job's retention: (else --retention, 90 days by default) the steps' stored \
            stdout/stderr tails are cleared and its work directory under STATE/work/ is deleted. \
            Rows, states, error classes, file hashes and the audit are kept; a failure nobody has \
            resolved is kept whole until it is. Works on the store directly, beside a running \
            renkeid as run --local does. Audited and logged; --dry-run only lists and writes nothing.

            Examples:
              renkeictl purge --dry-run
              renkeictl purge --retention 30d
            """
    )

    @OptionGroup var location: LocationOptions

    @Flag(help: "Only say what would be purged.")
    var dryRun = false

    @Option(help: ArgumentHelp("Retention for jobs whose file names none (default 90d; renkeid's --retention does not apply here).", valueName: "DURATION"))
    var retention: String?

    func run() async throws {
        let locations = location.locations
        var defaultRetention = RenkeiRuntime.Purge.defaultRetention
        if let retention {
            do { defaultRetention = try JobDuration.parse(retention) } catch {
                throw Failure(.usage, "--retention: \(error)")
            }
            guard defaultRetention > .zero else { throw Failure(.usage, "--retention: give a positive duration such as 90d") }
        }
        let state = StateDirectory(locations.state)
        if let problem = RunStore.whyUnreadable(at: state.database) {
            switch problem {
            case .noDatabase:
                print("nothing to purge: no run store at \(state.database)")
                return
            case .permissionDenied:
                throw Failure(.permissionDenied, "\(problem)")
            default:
                break   // SQLite's own open says what is wrong
            }
        }
        let store: RunStore
        do { store = try state.openStoreForAuditedWriting() } catch {
            throw Failure(.runDidNotSucceed, "\(error)")
        }
        defer { store.close() }
        var logger: Logger?
        if !dryRun {
            if Journal.isAvailable {
                LoggingSystem.bootstrap { _ in JournalLogHandler(identifier: "renkeictl") }
            } else {
                LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
            }
            logger = Logger(label: "renkeictl")
        }
        let me = Requester.current
        var request = "{\"operation\":\"purge\""
        if let retention { request += ",\"retention\":\"\(retention)\"" }
        request += "}"
        let entry = AuditEntry(uid: Int64(me.uid), user: me.userName, pid: Int64(getpid()), request: request, reason: nil, result: "")
        let purge = RenkeiRuntime.Purge(catalog: JobLoader.load(directory: locations.jobs), defaultRetention: defaultRetention, store: store, state: state)
        let outcome: RenkeiRuntime.Purge.Outcome
        do { outcome = try await purge.run(dryRun: dryRun, requester: entry, logger: logger) } catch {
            throw Failure(.runDidNotSucceed, "purge failed: \(error)")
        }
        print(outcome.summary)
        let byJob = Dictionary(grouping: outcome.runs, by: \.job)
        for (job, runs) in byJob.sorted(by: { $0.key < $1.key }) {
            let ids = runs.map { String($0.id) }.joined(separator: ", ")
            print("  \(job): \(runs.count) run(s): \(ids)")
        }
        for directory in outcome.directories {
            print("  \(dryRun ? "would delete" : "deleted") \(SafeText.visible(directory))")
        }
        for refused in outcome.refused {
            print(SafeText.visible("  left alone: \(refused.path): \(refused.reason)"))
        }
        for job in outcome.skippedJobs {
            print("  kept all runs of \(job): its job file has problems, so its retention cannot be read")
        }
    }
}
