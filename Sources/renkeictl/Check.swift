import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiRuntime

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check job files and report every problem with its file, line and column.",
        discussion: """
            Checks every *.yaml in the jobs directory, or only the FILEs given. Prints one line per \
            valid job; prints each problem as FILE:LINE:COL: error: MESSAGE on standard error and \
            exits 2 if there is any.

            Like sshd's StrictModes, a job file, the jobs directory, closed-day files and \
            substitution tables are refused when anything on their path up to / (symlinks \
            followed) is writable by group or others (sticky directories excepted) or owned by \
            anyone but root or Renkei's user; a trigger directory when a directory above it is \
            writable by others. A step's program that others could replace is only a warning \
            (a line starting 'warning:'); the exit status stays 0.

            Chains are checked across the jobs: every job named in 'after:' must exist, not be \
            the job itself, and not lead back to it; a job whose chain cannot run is not loaded, \
            nor is any job waiting for it. With FILEs, an upstream that is not among them is looked \
            for beside the file that names it; check the whole directory to see every cycle.

            Without FILEs, or with --config, the site configuration renkei.yaml is checked too \
            (when there is one), its problems printed the same way; it is trusted as a job file is, \
            and a notification program others could replace is a warning.

            Example:
              renkeictl check --jobs /etc/renkei/jobs
              renkeictl check /etc/renkei/jobs/juki-to-fukushi.yaml
              renkeictl check --config /etc/renkei/renkei.yaml
            """
    )

    @OptionGroup var location: LocationOptions

    @Option(help: ArgumentHelp("The site configuration to check (default: $RENKEI_CONFIG, $CONFIGURATION_DIRECTORY/renkei.yaml, ./renkei.yaml in a checkout, else /etc/renkei/renkei.yaml).", valueName: "FILE"))
    var config: String?

    @Argument(help: ArgumentHelp("Job files to check instead of the whole directory.", valueName: "FILE"))
    var files: [String] = []

    func run() throws {
        var siteProblems: [JobFileProblem] = []
        if files.isEmpty || config != nil {
            let path = SiteConfigurationFile.path(config)
            if config != nil && !FileManager.default.fileExists(atPath: path) {
                throw Failure(.usage, "no configuration file at \(path)")
            }
            switch SiteConfigurationFile.load(path) {
            case .success(let site):
                for warning in SiteConfigurationFile.warnings(site, path: path) {
                    FileHandle.standardError.write(Data("warning: \(SafeText.visible(warning))\n".utf8))
                }
                if FileManager.default.fileExists(atPath: path) {
                    print("ok  \(path)  site configuration" + (site.metrics.map { ", metrics to \($0.textfile)" } ?? "")
                          + (site.notify.map { notify in ", notify " + ([notify.mail.map { "mail to \($0.to.joined(separator: ", "))" }, notify.command.map { "command \($0[0])" }].compactMap { $0 }.joined(separator: " and ")) } ?? ""))
                }
            case .failure(let failure):
                siteProblems = failure.problems
            }
        }
        for problem in siteProblems {
            FileHandle.standardError.write(Data("\(SafeText.visible("\(problem)"))\n".utf8))
        }
        if config != nil && files.isEmpty {
            if !siteProblems.isEmpty { throw ExitCode(ExitStatus.usage.rawValue) }
            return
        }
        let catalog = files.isEmpty ? JobLoader.load(directory: location.locations.jobs) : JobLoader.load(files: files)
        let width = catalog.jobs.map(\.job.name.rawValue.count).max() ?? 0
        let machineZone = MachineTimeZone.identifier
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        for loaded in catalog.jobs {
            let job = loaded.job
            let name = job.name.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
            let steps = job.steps.count == 1 ? "1 step" : "\(job.steps.count) steps"
            var starts: [String] = []
            let schedule = job.jobSchedule(machineZone: machineZone)
            if let schedule { starts.append("\"\(job.schedule!)\" (\(schedule.effectiveZone.identifier))") }
            if !job.after.isEmpty { starts.append("after " + job.after.map(\.rawValue).joined(separator: ", ")) }
            if let trigger = job.trigger { starts.append("on \(trigger.file) in \(trigger.path)") }
            print(SafeText.visible("ok  \(name)  \(starts.isEmpty ? "manual only" : starts.joined(separator: ", ")), \(steps)" + (job.description.map { " — \($0)" } ?? "")))
            guard let schedule else { continue }
            let runs = schedule.slots(after: now, count: 60).filter { $0.runAt != nil }.prefix(3)
            let times = runs.map { slot in
                ExpressionReport.local(slot.runAt!, schedule.effectiveZone).components(separatedBy: " (").first!
                    + (slot.disposition == .moved ? " (moved from a closed day)" : "")
            }
            print("    next: " + (times.isEmpty ? "never" : times.joined(separator: ", ")))
        }
        for note in catalog.notes {
            FileHandle.standardError.write(Data("note: \(SafeText.visibleLines("\(note)"))\n".utf8))
        }
        for warning in catalog.jobs.flatMap({ ProgramTrust.warnings($0) }) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        for problem in catalog.problems {
            FileHandle.standardError.write(Data("\(SafeText.visibleLines("\(problem)"))\n".utf8))
        }
        if !catalog.problems.isEmpty || !siteProblems.isEmpty {
            let files = Set((catalog.problems + siteProblems).map(\.file)).count
            let count = catalog.problems.count + siteProblems.count
            let summary = "\(count) problem\(count == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s"); \(catalog.jobs.count) job\(catalog.jobs.count == 1 ? "" : "s") valid"
            FileHandle.standardError.write(Data("\(summary)\n".utf8))
            throw ExitCode(ExitStatus.usage.rawValue)
        }
        if catalog.jobs.isEmpty {
            throw Failure(.usage, "no job files (*.yaml) in \(location.locations.jobs)")
        }
    }
}
