import Foundation
import RenkeiCore

/// The report as one self-contained HTML page: inline CSS and an inline SVG chart, no scripts,
/// no fonts or images from anywhere, laid out to print on A4.
public enum ReportHTML {
    public static func render(_ report: FailureReport, _ l: ReportLabels) -> String {
        func e(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var h = """
            <!DOCTYPE html>
            <html lang="\(l.japanese ? "ja" : "en")"><head><meta charset="utf-8">
            <title>\(e(l.title)) \(e(l.short(report.since))) – \(e(l.short(report.until)))</title>
            <style>
            @page { size: A4; margin: 15mm; }
            body { font-family: "Noto Sans CJK JP", "IPAexGothic", "Hiragino Sans", "Yu Gothic", sans-serif; font-size: 10pt; color: #111; max-width: 180mm; margin: 0 auto; }
            h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; }
            .meta { color: #444; } .verdict { font-weight: bold; padding: 2mm 3mm; border-radius: 2mm; margin: 3mm 0; }
            .ok { background: #e6f4ea; color: #1e6b34; } .bad { background: #fdecea; color: #a31515; }
            table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #bbb; padding: 1mm 2mm; text-align: left; vertical-align: top; }
            th { background: #f1f1f1; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
            code { font-size: 8.5pt; word-break: break-all; } tr, .chart { page-break-inside: avoid; }
            table.reconciliation { font-size: 8.5pt; } .reason { display: block; font-weight: normal; color: #444; }
            td.ok, td.bad { font-weight: bold; } td.date { white-space: nowrap; }
            tr.because td { border-bottom: none; color: #444; padding-left: 4mm; } tr.downstream td:nth-child(2) { padding-left: 6mm; }
            </style></head><body>
            <h1>\(e(l.title))</h1>
            <p class="meta">\(e(l.period)): \(e(l.short(report.since))) – \(e(l.short(report.until))) (\(e(report.timezone))) · \(e(l.generated)): \(e(l.short(report.generatedAt)))</p>
            <p class="verdict \(report.totals.counts.unresolved > 0 ? "bad" : "ok")">\(e(l.verdict(report)))</p>
            <h2>\(e(l.summary))</h2><table id="totals">
            """
        for (label, value) in l.totals(report) { h += "<tr><th>\(e(label))</th><td class=\"n\">\(e(value))</td></tr>\n" }
        h += "</table>\n<h2>\(e(l.chart))</h2>\n" + chart(report.days, l) + "\n"
        h += "<h2>\(e(l.perJob))</h2><table><tr><th>\(e(l.job))</th><th>\(e(l.runs))</th><th>\(e(l.failed))</th><th>\(e(l.unresolvedCount))</th><th>\(e(l.missed))</th><th>\(e(l.breaches))</th><th>\(e(l.lastFailure))</th><th>\(e(l.lastSuccess))</th></tr>\n"
        for row in report.jobs {
            let c = row.counts
            h += "<tr><td>\(e(row.job))</td><td class=\"n\">\(c.runs)</td><td class=\"n\">\(c.failed)</td><td class=\"n\">\(c.unresolved)</td><td class=\"n\">\(c.missed)</td><td class=\"n\">\(c.deadlineBreaches)</td><td>\(e(l.short(row.lastFailure)))</td><td>\(e(l.short(row.lastSuccess)))</td></tr>\n"
        }
        h += "</table>\n<h2>\(e(l.unresolvedTitle))</h2>\n"
        if report.unresolved.isEmpty { h += "<p>\(e(l.none))</p>\n" } else {
            h += "<table><tr><th>\(e(l.run))</th><th>\(e(l.job))</th><th>\(e(l.logicalTime))</th><th>\(e(l.errorClass))</th><th>\(e(l.error))</th><th>\(e(l.rerunCommand))</th></tr>\n"
            h += incidentRows(report.unresolved, elsewhere: report.resolved, resolvedElsewhere: true, columns: 6, l, e) { f, note in
                "<td class=\"n\">\(f.run)</td><td>\(e(f.job))</td><td>\(e(l.short(f.logicalTime)))</td><td>\(e(f.errorClass))</td><td>\(e(f.error))\(note)</td><td><code>\(e(f.rerunCommand ?? ""))</code></td>"
            }
            h += "</table>\n"
        }
        h += "<h2>\(e(l.resolvedTitle))</h2>\n"
        if report.resolved.isEmpty { h += "<p>\(e(l.none))</p>\n" } else {
            h += "<table><tr><th>\(e(l.run))</th><th>\(e(l.job))</th><th>\(e(l.logicalTime))</th><th>\(e(l.error))</th><th>\(e(l.resolvedBy))</th><th>\(e(l.how))</th><th>\(e(l.requestedBy))</th><th>\(e(l.reason))</th><th>\(e(l.openFor))</th></tr>\n"
            h += incidentRows(report.resolved, elsewhere: report.unresolved, resolvedElsewhere: false, columns: 9, l, e) { f, note in
                "<td class=\"n\">\(f.run)</td><td>\(e(f.job))</td><td>\(e(l.short(f.logicalTime)))</td><td>\(e(f.error))\(note)</td><td class=\"n\">\(f.resolvedBy ?? 0)</td><td>\(e(l.resolution(f.resolution)))</td><td>\(e(f.requestedBy ?? ""))</td><td>\(e(f.reason ?? ""))</td><td>\(e(l.duration(f.openSeconds)))</td>"
            }
            h += "</table>\n"
        }
        h += "<h2>\(e(l.reconciliationTitle))</h2>\n"
        if report.reconciliation.isEmpty { h += "<p>\(e(l.noFiles))</p>\n" } else {
            h += "<table class=\"reconciliation\"><tr><th>\(e(l.job))</th><th>\(e(l.logicalDate))</th><th>\(e(l.filesReceived))</th><th>\(e(l.bytesReceived))</th><th>\(e(l.recordsReceived))</th><th>\(e(l.filesDelivered))</th><th>\(e(l.bytesDelivered))</th><th>\(e(l.recordsDelivered))</th><th>\(e(l.reconciliationResult))</th></tr>\n"
            for r in report.reconciliation {
                let tone = r.status.needsAction ? " class=\"bad\"" : r.status == .reconciled ? " class=\"ok\"" : ""
                h += "<tr><td>\(e(r.job))</td><td class=\"date\">\(e(r.logicalDate))</td><td class=\"n\">\(r.filesReceived)</td><td class=\"n\">\(r.bytesReceived)</td><td class=\"n\">\(e(l.count(r.recordsReceived)))</td><td class=\"n\">\(r.filesDelivered)</td><td class=\"n\">\(r.bytesDelivered)</td><td class=\"n\">\(e(l.count(r.recordsDelivered)))</td><td\(tone)>\(e(l.status(r.status)))<span class=\"reason\">\(e(l.reason(r)))</span></td></tr>\n"
            }
            h += "</table>\n"
        }
        h += "<footer><p class=\"meta\">\(e(l.auditHead)): \(e(l.head(report.auditHead)))</p></footer>\n"
        return h + "</body></html>\n"
    }

    /// One row per failure; an incident's downstream failures follow its root under a row
    /// "└─ because of it:", and one whose root is in the other table says which run that is.
    /// `cells` gives a row's cells, with a note to put after the error.
    static func incidentRows(_ failures: [FailureReport.Failure], elsewhere: [FailureReport.Failure], resolvedElsewhere: Bool, columns: Int,
                             _ l: ReportLabels, _ e: (String) -> String, cells: (FailureReport.Failure, String) -> String) -> String {
        let here = Set(failures.map(\.run))
        var h = ""
        var opened: Int64?
        for f in failures {
            if f.incident != f.run && here.contains(f.incident) {
                if opened != f.incident {
                    h += "<tr class=\"because\"><td></td><td colspan=\"\(columns - 1)\">\(e(l.becauseOfIt))</td></tr>\n"
                    opened = f.incident
                }
                h += "<tr class=\"downstream\">" + cells(f, "") + "</tr>\n"
                continue
            }
            opened = nil
            let note = f.incident == f.run ? ""
                : "<span class=\"reason\">\(e(l.because(of: elsewhere.first { $0.run == f.incident }, run: f.incident, resolved: resolvedElsewhere)))</span>"
            h += "<tr>" + cells(f, note) + "</tr>\n"
        }
        return h
    }

    /// Bars of runs (grey) and failures (red) per day.
    static func chart(_ days: [FailureReport.Day], _ l: ReportLabels) -> String {
        guard !days.isEmpty else { return "<p>\(l.none)</p>" }
        let width = 640.0, height = 160.0, base = 140.0
        let peak = Double(max(days.map(\.runs).max() ?? 1, 1))
        let slot = width / Double(days.count)
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height) + 20)\" width=\"100%\" role=\"img\" aria-label=\"\(l.chart)\">\n"
        for (index, day) in days.enumerated() {
            let x = Double(index) * slot
            let runsHeight = Double(day.runs) / peak * (base - 10)
            let failuresHeight = Double(day.failures) / peak * (base - 10)
            svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#9aa5b1\"><title>%@: %d</title></rect>\n",
                          x + slot * 0.1, base - runsHeight, slot * 0.8, runsHeight, day.date, day.runs)
            if day.failures > 0 {
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#c62828\"><title>%@: %d</title></rect>\n",
                              x + slot * 0.1, base - failuresHeight, slot * 0.8, max(failuresHeight, 2), day.date, day.failures)
            }
            if days.count <= 31 {
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\">%@</text>\n", x + slot / 2, base + 14, String(day.date.suffix(5)))
            }
        }
        return svg + "<line x1=\"0\" y1=\"\(base)\" x2=\"\(width)\" y2=\"\(base)\" stroke=\"#333\"/></svg>"
    }
}
