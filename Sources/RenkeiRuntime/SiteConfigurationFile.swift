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
        return SiteConfigurationParser.parse(file: path, bytes: Array(data))
    }
}
