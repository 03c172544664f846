import Foundation

/// Names a process so that it can be told apart from a later one with the same pid: the boot,
/// the pid, and the process's start time in clock ticks since boot (`/proc/PID/stat`, field 22).
/// A run row records its owner this way; a row whose owner is gone was interrupted.
public struct ProcessIdentity: Sendable, Equatable, CustomStringConvertible {
    public let bootID: String
    public let pid: Int32
    public let startTicks: UInt64

    /// `BOOT_ID:PID:START_TICKS`, as stored in `run.owner`.
    public var description: String { "\(bootID):\(pid):\(startTicks)" }

    public init(bootID: String, pid: Int32, startTicks: UInt64) {
        self.bootID = bootID
        self.pid = pid
        self.startTicks = startTicks
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 3, let pid = Int32(parts[1]), let ticks = UInt64(parts[2]) else { return nil }
        self.init(bootID: String(parts[0]), pid: pid, startTicks: ticks)
    }

    /// This process.
    public static var current: ProcessIdentity {
        let pid = getpid()
        return ProcessIdentity(bootID: currentBootID, pid: pid, startTicks: startTicks(of: pid) ?? 0)
    }

    /// The process `pid`, if it runs.
    public static func of(_ pid: Int32) -> ProcessIdentity? {
        startTicks(of: pid).map { ProcessIdentity(bootID: currentBootID, pid: pid, startTicks: $0) }
    }

    /// Whether the process this names still runs.
    public var isAlive: Bool {
        guard bootID == Self.currentBootID else { return false }
        return Self.startTicks(of: pid) == startTicks
    }

    static let currentBootID: String = {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "unknown-boot"
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    static func startTicks(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) " come fields 3…; the start time is field 22, so index 19 here.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        // A zombie has not been reaped yet but no longer runs anything.
        if fields[0] == "Z" || fields[0] == "X" { return nil }
        return UInt64(fields[19])
    }
}
