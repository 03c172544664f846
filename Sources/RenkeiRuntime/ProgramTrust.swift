import Foundation
import RenkeiCore
import RenkeiExecutor

/// `renkeictl check` warns when a step's program could be replaced by any user: the job file may
/// be safe while what it runs is not. Only a warning: the program is often installed by other
/// means (a package), and refusing the job would stop the link for what may be a packaging slip.
public enum ProgramTrust {
    /// One warning per `run:` step whose program, or a directory above it (symlinks followed), is
    /// writable by every user and not sticky. The program is found as the executor finds it; a
    /// program whose name holds `${…}`, or that cannot be found, is not looked at here.
    public static func warnings(_ loaded: LoadedJob, inherited: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var warnings: [String] = []
        for step in loaded.job.steps {
            let program: String
            switch step.command {
            case .argv(let arguments): program = arguments.first ?? ""
            case .shell: program = "/bin/sh"
            case .link: continue
            }
            guard !program.isEmpty, !program.contains("${") else { continue }
            guard case .success(let found) = ProgramLocator.locate(program, programDirectory: loaded.directory, path: searchPath(loaded.job, inherited)) else { continue }
            guard let hazard = PathWalk(found).firstHazard(.othersMayNotWrite) else { continue }
            warnings.append("\(loaded.file): " + hazard.warning(about: "step '\(step.name)' runs \(found)",
                                                                consequence: "anyone could replace the program this step runs"))
        }
        return warnings
    }

    /// The `PATH` a run would have: the job's own, else the daemon's, else the default.
    static func searchPath(_ job: Job, _ inherited: [String: String]) -> String {
        if let own = job.environment["PATH"], !own.contains("${") { return own }
        return inherited["PATH"] ?? RunEnvironment.baseVariables["PATH"]!
    }
}
