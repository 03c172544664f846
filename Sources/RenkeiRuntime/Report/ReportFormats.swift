import Foundation
import RenkeiCore

/// The report as text (80 columns, colour only on a terminal), CSV (one row per failure) and JSON.
public enum ReportFormats {
    public static func text(_ report: FailureReport, _ l: ReportLabels, colour: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var out: [String] = []
        out.append(paint(l.title, "1"))
        out.append("\(l.period): \(l.short(report.since)) – \(l.short(report.until)) (\(report.timezone))   \(l.generated): \(l.short(report.generatedAt))")
        let verdict = l.verdict(report)
        out.append(report.totals.counts.unresolved > 0 ? paint(verdict, "1;31") : paint(verdict, "32"))
        out.append("")
        out.append(paint(l.summary, "1"))
        for (label, value) in l.totals(report) { out.append("  " + pad(label, 40) + value) }
        out.append("")
        out.append(paint(l.perJob, "1"))
        out.append("  " + pad(l.job, 24) + pad(l.runs, 8) + pad(l.failedShort, 10) + pad(l.unresolvedCount, 10) + l.lastFailure)
        for row in report.jobs {
            out.append("  " + pad(String(row.job.prefix(23)), 24) + pad("\(row.counts.runs)", 8) + pad("\(row.counts.failed)", 10)
                       + pad("\(row.counts.unresolved)", 10) + l.short(row.lastFailure))
        }
        out.append("")
        out.append(paint(l.unresolvedTitle, report.unresolved.isEmpty ? "1" : "1;31"))
        if report.unresolved.isEmpty { out.append("  " + l.none) }
        for failure in report.unresolved {
            out.append("  \(l.run) \(failure.run)  \(failure.job)  \(l.short(failure.logicalTime))  [\(failure.errorClass)]")
            out.append("    " + String(failure.error.prefix(74)))
            out.append("    " + paint(failure.rerunCommand ?? "", "36"))
        }
        out.append("")
        out.append(paint(l.resolvedTitle, "1"))
        if report.resolved.isEmpty { out.append("  " + l.none) }
        for failure in report.resolved {
            out.append("  \(l.run) \(failure.run)  \(failure.job)  \(l.short(failure.logicalTime))  [\(failure.errorClass)]")
            let who = failure.requestedBy ?? "-"
            out.append("    → \(l.resolvedBy) \(failure.resolvedBy ?? 0) (\(l.resolution(failure.resolution)), \(who), \(l.duration(failure.openSeconds)))"
                       + (failure.reason.map { " — \($0)" } ?? ""))
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Display width: East Asian characters take two columns.
    public static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + (($1.value >= 0x1100 && ($1.value <= 0x115F || ($1.value >= 0x2E80 && $1.value <= 0xA4CF) || ($1.value >= 0xAC00 && $1.value <= 0xD7A3) || ($1.value >= 0xF900 && $1.value <= 0xFAFF) || ($1.value >= 0xFE30 && $1.value <= 0xFE4F) || ($1.value >= 0xFF00 && $1.value <= 0xFF60) || ($1.value >= 0xFFE0 && $1.value <= 0xFFE6))) ? 2 : 1) }
    }

    static func pad(_ text: String, _ columns: Int) -> String {
        let w = width(text)
        return w >= columns ? text + " " : text + String(repeating: " ", count: columns - w)
    }

    /// RFC 4180: one row per failure, CRLF line ends, fields quoted when needed.
    public static func csv(_ report: FailureReport, _ l: ReportLabels) -> Data {
        let header = [l.pick("status", "状態"), l.run, l.job, l.logicalTime, l.errorClass, l.error, l.attempts, l.resolvedBy, l.how, l.requestedBy, l.reason, l.openFor + l.pick(" (seconds)", "（秒）"), l.rerunCommand]
        var rows = [header]
        for failure in report.unresolved {
            rows.append([l.unresolvedCount, "\(failure.run)", failure.job, failure.logicalTime, failure.errorClass, failure.error, "\(failure.attempts)", "", "", "", "",
                         failure.openSeconds.map(String.init) ?? "", failure.rerunCommand ?? ""])
        }
        for failure in report.resolved {
            rows.append([l.pick("resolved", "解決済み"), "\(failure.run)", failure.job, failure.logicalTime, failure.errorClass, failure.error, "\(failure.attempts)",
                         failure.resolvedBy.map(String.init) ?? "", l.resolution(failure.resolution), failure.requestedBy ?? "", failure.reason ?? "",
                         failure.openSeconds.map(String.init) ?? "", ""])
        }
        let text = rows.map { $0.map(quote).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
        // A byte-order mark so Excel in Japan reads UTF-8 instead of Shift_JIS.
        return (l.japanese ? Data([0xEF, 0xBB, 0xBF]) : Data()) + Data(text.utf8)
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func json(_ report: FailureReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }
}
