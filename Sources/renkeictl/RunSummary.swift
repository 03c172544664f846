import Foundation
import RenkeiCore
import RenkeiStore

/// How runs are shown to an operator: one line, or a table row.
enum RunSummary {
    static func outcomeLine(_ run: RunRecord) -> String {
        let took = duration(run).map { " in \($0)" } ?? ""
        switch run.state {
        case .succeeded:
            return "run \(run.id!) of \(run.job) succeeded\(took)"
        default:
            let error = run.errorMessage.map { ": \($0)" } ?? ""
            return "run \(run.id!) of \(run.job) \(stateWord(run.state))\(took)\(error)"
        }
    }

    static func stateWord(_ state: RunState) -> String {
        switch state {
        case .timedOut: "timed out"
        default: state.rawValue
        }
    }

    /// `1.2s`, `3m05s`, `2h10m`.
    static func duration(_ run: RunRecord) -> String? {
        guard let started = run.startedAt, let finished = run.finishedAt else { return nil }
        return format(seconds: finished.timeIntervalSince(started))
    }

    static func format(seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    /// A wall-clock time on this machine: `2026-11-26 06:30:01`.
    static func localTime(_ date: Date?) -> String {
        guard let date else { return "-" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// An ISO 8601 time with offset, for JSON.
    static func isoTime(_ date: Date?) -> String? {
        guard let date else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = .current
        return formatter.string(from: date)
    }
}
