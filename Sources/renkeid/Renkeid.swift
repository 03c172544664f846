import ArgumentParser
import Foundation
import RenkeiRuntime

/// The daemon. This build loads and checks the job files and opens the run store (marking runs
/// left unfinished by a dead process `interrupted`); the scheduler is not part of it yet, so it
/// then says so and exits. Until then, `renkeictl run JOB --local` runs jobs by hand.
@main
struct Renkeid: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renkeid",
        abstract: "The Renkei daemon: runs data-link jobs on their schedules and records every run."
    )

    @Option(help: ArgumentHelp("Directory of job files.", valueName: "DIR"))
    var jobs: String?

    @Option(help: ArgumentHelp("State directory (run store, work directories, locks).", valueName: "DIR"))
    var state: String?

    @Option(help: ArgumentHelp("Control socket path.", valueName: "PATH"))
    var socket: String?

    func run() throws {
        let locations = Locations.resolve(jobs: jobs, state: state, socket: socket)
        let catalog = JobLoader.load(directory: locations.jobs)
        for problem in catalog.problems {
            FileHandle.standardError.write(Data("\(problem)\n".utf8))
        }
        let store = try StateDirectory(locations.state).openStoreForWriting()
        print("renkeid: \(catalog.jobs.count) jobs loaded from \(locations.jobs), \(catalog.problems.count) problems; run store \(store.path)")
        FileHandle.standardError.write(Data("renkeid: this build has no scheduler yet; run jobs with 'renkeictl run JOB --local'\n".utf8))
        throw ExitCode(69)  // EX_UNAVAILABLE
    }
}
