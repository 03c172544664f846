import Foundation
import RenkeiCore

/// Finds what is left of a run whose owner died: every process whose environment names the run's
/// work directory (`RENKEI_WORK_DIR`, unique per state directory and run). Children inherit it, so
/// this also finds grandchildren that left the step's process group, and processes spawned in the
/// instant before their pid could be recorded.
public enum LeftoverProcesses {
    /// Pids of living processes whose environment has `RENKEI_WORK_DIR=workDirectory`.
    public static func find(workDirectory: String) -> [Int32] {
        let needle = Array("RENKEI_WORK_DIR=\(workDirectory)".utf8)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), pid != getpid(),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
            else { return nil }
            let variables = environ.split(separator: 0)
            return variables.contains { Array($0) == needle } ? pid : nil
        }
    }

    /// SIGTERM to each, then SIGKILL to those still there after `grace`. Returns the pids signalled.
    @discardableResult
    public static func stop(workDirectory: String, grace: JobDuration) -> [Int32] {
        let pids = find(workDirectory: workDirectory)
        guard !pids.isEmpty else { return [] }
        for pid in pids { kill(pid, SIGTERM) }
        let end = ContinuousClock.now.advanced(by: grace.duration)
        while ContinuousClock.now < end && !find(workDirectory: workDirectory).isEmpty { usleep(20_000) }
        for pid in find(workDirectory: workDirectory) { kill(pid, SIGKILL) }
        return pids
    }
}
