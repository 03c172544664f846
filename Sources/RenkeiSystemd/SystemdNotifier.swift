internal import CSystemd
import Foundation

/// Tells systemd how the daemon is doing (`sd_notify`): `READY=1`, `STATUS=…`, `WATCHDOG=1`,
/// `RELOADING=1`, `STOPPING=1`. Does nothing when not started by systemd (`NOTIFY_SOCKET` unset).
public struct SystemdNotifier: Sendable {
    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, if this process is the one watched.
    public let watchdogInterval: Duration?
    /// Whether there is anyone to tell.
    public let isActive: Bool

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        isActive = !(environment["NOTIFY_SOCKET"] ?? "").isEmpty
        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            let forUs = environment["WATCHDOG_PID"].flatMap(Int32.init).map { $0 == getpid() } ?? true
            if forUs { interval = .microseconds(Int64(usec / 2)) }
        }
        watchdogInterval = interval
    }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ status: String) { send("STATUS=\(status)") }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping(status: String) { send("STOPPING=1\nSTATUS=\(status)") }

    /// `RELOADING=1` with the monotonic time, as systemd 253+ expects for `Type=notify-reload`.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send("RELOADING=1\nMONOTONIC_USEC=\(usec)")
    }

    private func send(_ message: String) {
        guard isActive else { return }
        _ = message.withCString { sd_notify(0, $0) }
    }
}
