import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiLink
import RenkeiRuntime
import RenkeiStore

/// `renkeictl step JOB STEP`: a built-in step tried by hand, as a link's designer tests it.
struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Try one built-in step (receive, deliver, check, convert) of a job by hand, outside any run.",
        discussion: """
            The step does exactly what it does in a run — waits for the file and copies it, delivers \
            it, checks it against its contract or converts it — in a work directory of your choosing (default: a new one under /tmp, \
            printed). It reads the store's receipts, so a duplicate is refused as in a run, but \
            records nothing: the files it handles are not receipts for later runs. Exit status 0 \
            if the step succeeded, 1 if not.

            Example:
              renkeictl step juki-to-fukushi receive --logical-time 2026-12-01
              renkeictl step juki-to-fukushi deliver --logical-time 2026-12-01 --work-dir /tmp/renkei-step.Xa12
            """
    )

    @OptionGroup var location: LocationOptions

    @Argument(help: "The job (its file name without .yaml).")
    var job: String

    @Argument(help: "The name of one of its built-in steps.")
    var step: String

    @Option(help: ArgumentHelp("The logical time the step works for ({date:…} in names): 2026-12-01, 2026-12-01 06:30 (job's zone). Default: now.", valueName: "T"))
    var logicalTime: String?

    @Option(help: ArgumentHelp("The work directory (relative paths and in/ live here). Default: a new directory under /tmp.", valueName: "DIR"))
    var workDir: String?

    func run() throws {
        let locations = location.locations
        let loaded = try JobLookup.job(job, in: locations)
        guard let position = loaded.job.steps.firstIndex(where: { $0.name == step }) else {
            throw Failure(.noSuchJobOrRun, "\(job) has no step '\(step)' (steps: \(loaded.job.steps.map(\.name).joined(separator: ", ")))")
        }
        guard case .link(let linkStep) = loaded.job.steps[position].command else {
            throw Failure(.usage, "step '\(step)' of \(job) is a command (run:), not a built-in step; try it with 'renkeictl run \(job) --local'")
        }
        let logical = try JobLookup.logicalTime(logicalTime, of: loaded.job)
        let workDirectory = try self.workDirectory()
        let environment: [String: String]
        do {
            environment = try RunEnvironment.build(for: loaded.job, run: .init(job: loaded.job.name, runID: 0, attempt: 1, trigger: .manual,
                                                                                logicalTime: logical, workDirectory: workDirectory),
                                                   inherited: ProcessInfo.processInfo.environment)
        } catch {
            throw Failure(.usage, "cannot expand the job's environment: \(error)")
        }
        let files = LinkStepFiles(workDirectory: workDirectory, runID: nil, position: position, step: step)
        let context = LinkStepResolution.Context(job: job, runID: nil, step: step, logicalTime: logical, environment: environment,
                                                 workDirectory: workDirectory, startedAt: Date().timeIntervalSince1970, force: false,
                                                 resultPath: files.resultPath)
        var receipts: [LinkRequest.Receipt] = []
        if let store = try? RunStore.openForReading(at: StateDirectory(locations.state).database) {
            if let direction = LinkStepFiles.receiptDirection(of: linkStep) {
                receipts = (try? store.receipts(job: job, logicalDate: logical.date, direction: direction)) ?? []
            }
        } else {
            print("note: no readable run store in \(locations.state): earlier receipts are not checked")
        }
        let request: LinkRequest
        do { request = try files.write(linkStep, context: context, receipts: receipts) } catch {
            throw Failure(.usage, "cannot prepare the step: \(error)")
        }
        print("\(job) step \(step) for \(logical.date), work directory \(workDirectory) (by hand: nothing is recorded)")
        let result = LinkStepProcess.perform(request) { print(SafeText.visible($0)) }
        for file in result.files {
            print(SafeText.visible("\(file.outcome.rawValue): \(file.path)  \(file.bytes) bytes  sha256 \(file.sha256)" + (file.note.map { "  (\($0))" } ?? "")))
        }
        if let failure = result.failure {
            throw Failure(.runDidNotSucceed, "[\(failure.errorClass.rawValue)] \(failure.message)")
        }
    }

    private func workDirectory() throws -> String {
        if let workDir {
            let path = URL(fileURLWithPath: workDir).standardizedFileURL.path
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            return path
        }
        var template = Array("/tmp/renkei-step.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(.usage, "cannot make a work directory under /tmp: \(String(cString: strerror(errno)))") }
        return String(cString: made)
    }
}
