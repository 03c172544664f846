import Foundation
import RenkeiCore

/// Where Renkei finds its job files, its state and its control socket.
///
/// In order: a command-line flag; a `RENKEI_JOBS` / `RENKEI_STATE` / `RENKEI_SOCKET` variable;
/// systemd's `CONFIGURATION_DIRECTORY` / `STATE_DIRECTORY` / `RUNTIME_DIRECTORY` when run as a
/// service; `./Jobs`, `./.renkei` and `./.renkei/control.sock` when the current directory is a
/// Renkei checkout (it has `Jobs/` or `.renkei/`); otherwise the system paths
/// `/etc/renkei/jobs`, `/var/lib/renkei` and `/run/renkei/control.sock`.
public struct Locations: Sendable, Equatable {
    public var jobs: String
    public var state: String
    public var socket: String
    /// How long `renkeictl` waits for renkeid's answer on `socket`, in seconds.
    public var answerSeconds: Int = 30

    public static func resolve(
        jobs: String? = nil, state: String? = nil, socket: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> Locations {
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        // systemd may list several directories separated by ':'; Renkei's unit names one each.
        func systemd(_ name: String) -> String? { nonEmpty(name).map { String($0.split(separator: ":").first ?? "") } }

        let fileManager = FileManager.default
        let inCheckout = fileManager.fileExists(atPath: currentDirectory + "/Jobs") || fileManager.fileExists(atPath: currentDirectory + "/.renkei")
        let local = currentDirectory + "/.renkei"

        let resolvedJobs = jobs ?? nonEmpty("RENKEI_JOBS")
            ?? systemd("CONFIGURATION_DIRECTORY").map { $0 + "/jobs" }
            ?? (inCheckout ? currentDirectory + "/Jobs" : "/etc/renkei/jobs")
        let resolvedState = state ?? nonEmpty("RENKEI_STATE")
            ?? systemd("STATE_DIRECTORY")
            ?? (inCheckout ? local : "/var/lib/renkei")
        let resolvedSocket = socket ?? nonEmpty("RENKEI_SOCKET")
            ?? systemd("RUNTIME_DIRECTORY").map { $0 + "/control.sock" }
            ?? (inCheckout ? local + "/control.sock" : "/run/renkei/control.sock")
        // Absolute, because steps run in their work directory, not where the command was typed.
        func absolute(_ path: String) -> String {
            URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: currentDirectory, isDirectory: true)).standardizedFileURL.path
        }
        return Locations(jobs: absolute(resolvedJobs), state: absolute(resolvedState), socket: absolute(resolvedSocket))
    }
}

/// The machine's time zone, the default for jobs that name none: `$TZ`, else `/etc/localtime`.
public enum MachineTimeZone {
    public static var identifier: String {
        let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/etc/localtime")
        return TimeZoneCatalog.machineZone(environment: ProcessInfo.processInfo.environment, localtimeLink: link)
    }
}
