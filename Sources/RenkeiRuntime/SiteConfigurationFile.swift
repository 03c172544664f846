import Foundation
import RenkeiCore

/// `renkei.yaml` on disk: where it is looked for, and reading it.
public enum SiteConfigurationFile {
    /// `--config`, else `$RENKEI_CONFIG`, else `renkei.yaml` in `$CONFIGURATION_DIRECTORY`, else
    /// `./renkei.yaml` in a checkout, else `/etc/renkei/renkei.yaml`.
    public static func path(_ option: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                            currentDirectory: String = FileManager.default.currentDirectoryPath) -> String {
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let option { return absolute(option, in: currentDirectory) }
        if let named = nonEmpty("RENKEI_CONFIG") { return absolute(named, in: currentDirectory) }
        if let directory = nonEmpty("CONFIGURATION_DIRECTORY") {
            return String(directory.split(separator: ":").first ?? "") + "/" + SiteConfiguration.fileName
        }
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: currentDirectory + "/Jobs") || fileManager.fileExists(atPath: currentDirectory + "/.renkei") {
            return currentDirectory + "/" + SiteConfiguration.fileName
        }
        return "/etc/renkei/" + SiteConfiguration.fileName
    }

    static func absolute(_ path: String, in directory: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).standardizedFileURL.path
    }

    /// What the file at `path` says; `.none` when there is no file (renkeid's defaults).
    public static func load(_ path: String) -> Result<SiteConfiguration, JobFileFailure> {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !FileManager.default.fileExists(atPath: path) { return .success(.empty) }
            let reason = access(path, R_OK) != 0 ? String(cString: strerror(errno)) : "unreadable"
            return .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: 0, column: 0,
                                                                      message: "cannot read the configuration file: \(reason)")]))
        }
        // It names programs renkeid runs (notify.command, notify.mail.sendmail) and a file it
        // replaces (metrics.textfile): trusted like a job file, every directory up to `/`.
        let trust = FileTrust()
        if let problem = trust.problem(with: path) ?? trust.pathProblem(path, refusing: path, consequence: consequence) {
            return .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: 0, column: 0, message: problem)]))
        }
        return SiteConfigurationParser.parse(file: path, bytes: Array(data))
    }

    static let consequence = "whoever can write there could change the programs renkeid runs to notify and the file it replaces for metrics"

    /// `renkeictl check`'s warnings: a notification program (`notify.command`, the sendmail) that
    /// any user could replace, found and walked as a step's program is.
    public static func warnings(_ configuration: SiteConfiguration, path: String) -> [String] {
        guard let notify = configuration.notify else { return [] }
        var programs: [(what: String, program: String)] = []
        if let command = notify.command?.first { programs.append(("notify.command runs", command)) }
        if let mail = notify.mail { programs.append(("notify.mail sends through", mail.sendmail)) }
        return programs.compactMap { what, program in
            guard program.hasPrefix("/"), let hazard = PathWalk(program).firstHazard(.othersMayNotWrite) else { return nil }
            return "\(path): " + hazard.warning(about: "\(what) \(program)", consequence: "anyone could replace the program renkeid runs to notify")
        }
    }
}
