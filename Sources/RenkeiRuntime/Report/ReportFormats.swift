import Foundation
import RenkeiCore

/// The report as text (80 columns, colour only on a terminal), CSV (one row per failure, then the
/// reconciliation table) and JSON.
public enum ReportFormats {
    /// The text report's width: no line is wider.
    public static let columns = 80

    public static func text(_ report: FailureReport, _ l: ReportLabels, colour: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var out: [String] = []
        out.append(paint(l.title, "1"))
        out.append("\(l.period): \(l.short(report.since)) – \(l.short(report.until)) (\(report.timezone))")
        out.append("\(l.generated): \(l.short(report.generatedAt))")
        out.append("\(l.auditHead): \(l.head(report.auditHead))")
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
        out += incidents(report.unresolved, elsewhere: report.resolved, resolvedElsewhere: true, l) { failure, indent in
            ["  " + indent + String(SafeText.visible(failure.error).prefix(76 - indent.count)), "  " + indent + paint(SafeText.visible(failure.rerunCommand ?? ""), "36")]
        }
        out.append("")
        out.append(paint(l.resolvedTitle, "1"))
        if report.resolved.isEmpty { out.append("  " + l.none) }
        out += incidents(report.resolved, elsewhere: report.unresolved, resolvedElsewhere: false, l) { failure, indent in
            let who = SafeText.visible(failure.requestedBy ?? "-")
            return ["  " + indent + "→ \(l.resolvedBy) \(failure.resolvedBy ?? 0) (\(l.resolution(failure.resolution)), \(who), \(l.duration(failure.openSeconds)))"
                    + (failure.reason.map { " — \(SafeText.visible($0))" } ?? "")]
        }
        out.append("")
        out += reconciliation(report.reconciliation, l, paint)
        return out.flatMap { wrapped($0, columns) }.joined(separator: "\n") + "\n"
    }

    /// `line` as it is when it fits in `columns`; else cut at spaces (or anywhere, when a word is
    /// longer than a line) into lines indented two more than it is, each painted as it was.
    static func wrapped(_ line: String, _ columns: Int) -> [String] {
        var paint: (prefix: String, suffix: String) = ("", "")
        var plain = line
        if let start = line.firstIndex(of: "\u{1B}"), let end = line[start...].firstIndex(of: "m") {
            paint = (String(line[start...end]), "\u{1B}[0m")
            plain = line.replacingOccurrences(of: String(line[start...end]), with: "").replacingOccurrences(of: paint.suffix, with: "")
            // Text before the paint (the indent) stays outside it.
        }
        guard width(plain) > columns else { return [line] }
        let indent = String(plain.prefix { $0 == " " })
        let continuation = indent + "  "
        var lines: [String] = []
        var current = indent
        var body = Substring(plain.dropFirst(indent.count))
        while !body.isEmpty {
            let room = columns - width(current)
            var taken = ""
            for character in body {
                if width(taken + String(character)) > room { break }
                taken.append(character)
            }
            if taken.count < body.count, let space = taken.lastIndex(of: " "), space > taken.startIndex {
                taken = String(taken[..<space])
            }
            if taken.isEmpty { taken = String(body.first!) }
            lines.append(current + taken)
            body = body.dropFirst(taken.count).drop { $0 == " " }
            current = continuation
        }
        guard !paint.prefix.isEmpty else { return lines }
        return lines.map { piece in
            let lead = String(piece.prefix { $0 == " " })
            return lead + paint.prefix + piece.dropFirst(lead.count) + paint.suffix
        }
    }

    /// The failures of one list, each incident's downstream failures indented under its root
    /// ("└─ because of it:"); a downstream failure whose root is in the other list says which run
    /// that is. `details` gives the lines under a failure's first, at the indent given.
    static func incidents(_ failures: [FailureReport.Failure], elsewhere: [FailureReport.Failure], resolvedElsewhere: Bool, _ l: ReportLabels,
                          details: (FailureReport.Failure, String) -> [String]) -> [String] {
        let here = Set(failures.map(\.run))
        var out: [String] = []
        var opened: Int64?
        for failure in failures {
            func heading(_ indent: String) -> String {
                "  " + indent + "\(l.run) \(failure.run)  \(failure.job)  \(l.short(failure.logicalTime))  [\(failure.errorClass)]"
            }
            if failure.incident != failure.run && here.contains(failure.incident) {
                if opened != failure.incident {
                    out.append("    " + l.becauseOfIt)
                    opened = failure.incident
                }
                out.append(heading("     "))
                out += details(failure, "       ")
                continue
            }
            opened = nil
            out.append(heading(""))
            if failure.incident != failure.run {
                out.append("    " + l.because(of: elsewhere.first { $0.run == failure.incident }, run: failure.incident, resolved: resolvedElsewhere))
            }
            out += details(failure, "  ")
        }
        return out
    }

    /// Two lines per job and date, received over delivered, the result under the job where the
    /// eye runs down; a third with the reason when someone has to act.
    static func reconciliation(_ rows: [FailureReport.Reconciliation], _ l: ReportLabels, _ paint: (String, String) -> String) -> [String] {
        let anyToAct = rows.contains { $0.status.needsAction }
        var out = [paint(l.reconciliationTitle, anyToAct ? "1;31" : "1")]
        guard !rows.isEmpty else { return out + ["  " + l.noFiles] }
        out.append("  " + pad(l.job, 20) + pad(l.logicalDate, 12) + pad("", 10) + lpad(l.files, 10) + lpad(l.bytes, 13) + lpad(l.records, 12))
        for row in rows {
            let numbers: (Int, Int64, Int64?) -> String = { lpad("\($0)", 10) + lpad("\($1)", 13) + lpad(l.count($2), 12) }
            out.append("  " + pad(String(row.job.prefix(19)), 20) + pad(row.logicalDate, 12) + pad(l.received, 10)
                       + numbers(row.filesReceived, row.bytesReceived, row.recordsReceived))
            let status = pad(l.status(row.status), 30)
            let painted = row.status.needsAction ? paint(status, "1;31") : row.status == .reconciled ? paint(status, "32") : status
            out.append("    " + painted + pad(l.delivered, 10)
                       + numbers(row.filesDelivered, row.bytesDelivered, row.recordsDelivered))
            if row.status.needsAction { out.append("      " + fit(SafeText.visible(l.reason(row)), 74)) }
        }
        return out
    }

    /// Display width: East Asian characters take two columns.
    public static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + (($1.value >= 0x1100 && ($1.value <= 0x115F || ($1.value >= 0x2E80 && $1.value <= 0xA4CF) || ($1.value >= 0xAC00 && $1.value <= 0xD7A3) || ($1.value >= 0xF900 && $1.value <= 0xFAFF) || ($1.value >= 0xFE30 && $1.value <= 0xFE4F) || ($1.value >= 0xFF00 && $1.value <= 0xFF60) || ($1.value >= 0xFFE0 && $1.value <= 0xFFE6))) ? 2 : 1) }
    }

    static func pad(_ text: String, _ columns: Int) -> String {
        let w = width(text)
        return w >= columns ? text + " " : text + String(repeating: " ", count: columns - w)
    }

    /// Right-aligned, for numbers.
    static func lpad(_ text: String, _ columns: Int) -> String {
        let w = width(text)
        return w >= columns ? " " + text : String(repeating: " ", count: columns - w) + text
    }

    /// Cut to `columns` display columns, with `…` when something was cut.
    static func fit(_ text: String, _ columns: Int) -> String {
        guard width(text) > columns else { return text }
        var out = ""
        for character in text {
            if width(out + String(character)) > columns - 1 { break }
            out.append(character)
        }
        return out + "…"
    }

    /// RFC 4180: one row per failure, CRLF line ends, fields quoted when needed; `incident` is the
    /// run of the failure the row's incident started with, so a filter on it shows one incident.
    /// When link steps handled files, the reconciliation table follows as a second table with its own header,
    /// after an empty row; every row has the same number of fields, so the file stays one grid.
    public static func csv(_ report: FailureReport, _ l: ReportLabels) -> Data {
        let header = [l.pick("status", "状態"), l.run, l.incident, l.job, l.logicalTime, l.errorClass, l.error, l.attempts, l.resolvedBy, l.how, l.requestedBy, l.reason, l.openFor + l.pick(" (seconds)", "（秒）"), l.rerunCommand]
        var rows = [header]
        for failure in report.unresolved {
            rows.append([l.unresolvedCount, "\(failure.run)", "\(failure.incident)", failure.job, failure.logicalTime, failure.errorClass, failure.error, "\(failure.attempts)", "", "", "", "",
                         failure.openSeconds.map(String.init) ?? "", failure.rerunCommand ?? ""])
        }
        for failure in report.resolved {
            rows.append([l.pick("resolved", "解決済み"), "\(failure.run)", "\(failure.incident)", failure.job, failure.logicalTime, failure.errorClass, failure.error, "\(failure.attempts)",
                         failure.resolvedBy.map(String.init) ?? "", l.resolution(failure.resolution), failure.requestedBy ?? "", failure.reason ?? "",
                         failure.openSeconds.map(String.init) ?? "", ""])
        }
        if !report.reconciliation.isEmpty {
            rows.append([])
            rows.append([l.job, l.logicalDate, l.filesReceived, l.bytesReceived, l.recordsReceived, l.filesDelivered, l.bytesDelivered,
                         l.recordsDelivered, l.reconciliationResult, l.reconciliationReason])
            for row in report.reconciliation {
                // Uncounted records stay empty, so a column of them still sums in a spreadsheet.
                rows.append([row.job, row.logicalDate, "\(row.filesReceived)", "\(row.bytesReceived)", row.recordsReceived.map(String.init) ?? "",
                             "\(row.filesDelivered)", "\(row.bytesDelivered)", row.recordsDelivered.map(String.init) ?? "", l.status(row.status), l.reason(row)])
            }
        }
        let columns = rows.map(\.count).max() ?? 0
        rows = rows.map { $0 + Array(repeating: "", count: columns - $0.count) }
        let text = rows.map { $0.map { quote(SafeText.csvCell($0)) }.joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
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
