import RenkeiCore

/// The report's words in English and in the Japanese a city hall writes its reports in.
public struct ReportLabels: Sendable {
    public let japanese: Bool

    public init(japanese: Bool) { self.japanese = japanese }

    func pick(_ en: String, _ ja: String) -> String { japanese ? ja : en }

    var title: String { pick("Data-link failure report", "連携処理 障害状況報告") }
    var period: String { pick("Period", "対象期間") }
    var generated: String { pick("Generated", "作成日時") }
    var auditHead: String { pick("Audit log head", "監査ログの最新行") }

    /// "row 42, hash 3fa9…" — what `renkeictl audit --verify` compares the table with.
    func head(_ head: AuditHead?) -> String {
        guard let head else { return pick("no audit rows", "監査ログの記録なし") }
        return pick("row \(head.seq), hash \(head.hash)", "\(head.seq) 行目、ハッシュ \(head.hash)")
    }
    var summary: String { pick("Summary", "集計") }
    var runs: String { pick("Runs", "実行回数") }
    var succeeded: String { pick("Succeeded", "正常終了") }
    var failed: String { pick("Failures (per data date)", "障害件数（基準日時単位）") }
    var failedShort: String { pick("Failures", "障害") }
    var recoveredByRetry: String { pick("Recovered by automatic retry", "自動再試行で回復") }
    var resolvedByRerun: String { pick("Resolved by manual re-run", "手動再実行で解決") }
    var unresolvedCount: String { pick("Unresolved", "未解決") }
    var missed: String { pick("Missed slots (renkeid down)", "未実行（停止中）") }
    var skipped: String { pick("Skipped slots", "スキップ") }
    var breaches: String { pick("Deadline breaches", "期限超過") }
    var interrupted: String { pick("Interrupted runs", "中断") }
    var successRate: String { pick("Success rate", "成功率") }
    var resolutionTime: String { pick("Time to resolution (median / longest)", "解決までの時間（中央値／最長）") }
    var perJob: String { pick("By job", "連携ジョブ別") }
    var job: String { pick("Job", "連携ジョブ") }
    var lastFailure: String { pick("Last failure", "最終障害") }
    var lastSuccess: String { pick("Last success", "最終正常終了") }
    var unresolvedTitle: String { pick("Unresolved failures — action needed", "未解決の障害（要対応）") }
    var resolvedTitle: String { pick("Resolved failures", "解決済みの障害") }
    var run: String { pick("Run", "実行番号") }
    var logicalTime: String { pick("Data date (logical time)", "基準日時") }
    var errorClass: String { pick("Error class", "エラー分類") }
    var error: String { pick("Error", "エラー内容") }
    var rerunCommand: String { pick("Command to re-run", "再実行コマンド") }
    var resolvedBy: String { pick("Resolved by run", "解決した実行") }
    var how: String { pick("How", "解決方法") }
    var requestedBy: String { pick("Asked by", "依頼者") }
    var reason: String { pick("Reason", "理由") }
    var openFor: String { pick("Open for", "解決までの時間") }
    var attempts: String { pick("Attempts", "試行回数") }
    var chart: String { pick("Runs and failures per day", "日別の実行回数と障害件数") }
    var noFailures: String { pick("No failures in this period.", "対象期間中に障害はありませんでした。") }
    var allHandled: String { pick("Every failure in this period was handled.", "対象期間中の障害はすべて対応済みです。") }
    var stillOpen: String { pick("failure(s) still need action.", "件の障害が未対応です。") }
    var none: String { pick("none", "なし") }
    var state: String { pick("State", "状態") }
    var incidents: String { pick("Incidents (a chain counted once)", "インシデント（連鎖は1件と数える）") }
    var incident: String { pick("incident", "インシデント") }
    var becauseOfIt: String { pick("└─ because of it:", "└─ これが原因で:") }

    /// For a downstream failure whose root is in the other list (resolved or not).
    func because(of root: FailureReport.Failure?, run: Int64, resolved: Bool) -> String {
        let job = root.map { japanese ? "、\($0.job)" : ", \($0.job)" } ?? ""
        return japanese ? "原因: 実行番号\(run)\(job)（\(resolved ? "解決済み" : "未解決")）" : "because of run \(run)\(job) (\(resolved ? "resolved" : "unresolved"))"
    }

    var reconciliationTitle: String { pick("Link reconciliation", "連携結果照合表") }
    var noFiles: String { pick("No files were received or delivered in this period.", "対象期間中に受信・送達したファイルはありません。") }
    var logicalDate: String { pick("Data date", "基準日") }
    var received: String { pick("received", "受信") }
    var delivered: String { pick("delivered", "送達") }
    var files: String { pick("Files", "ファイル数") }
    var bytes: String { pick("Bytes", "バイト数") }
    var records: String { pick("Records", "レコード数") }
    var filesReceived: String { pick("Files received", "受信ファイル数") }
    var bytesReceived: String { pick("Bytes received", "受信バイト数") }
    var recordsReceived: String { pick("Records received", "受信レコード数") }
    var filesDelivered: String { pick("Files delivered", "送達ファイル数") }
    var bytesDelivered: String { pick("Bytes delivered", "送達バイト数") }
    var recordsDelivered: String { pick("Records delivered", "送達レコード数") }
    var reconciliationResult: String { pick("Result", "照合結果") }
    var reconciliationReason: String { pick("Reason", "判定理由") }
    /// Records no `check` step counted.
    var unknown: String { "—" }

    func status(_ status: ReconciliationStatus) -> String {
        switch status {
        case .reconciled: pick("reconciled", "一致")
        case .recordsDiffer: pick("records differ", "レコード数不一致")
        case .notDelivered: pick("not delivered", "未送達")
        case .unfinished: pick("not finished", "未完了")
        case .receivedOnly: pick("received only", "受信のみ")
        }
    }

    /// The core's English reason, or the same in Japanese.
    func reason(_ row: FailureReport.Reconciliation) -> String {
        guard japanese else { return row.reason }
        switch row.status {
        case .reconciled:
            if let records = row.recordsDelivered, row.recordsReceived != nil { return "受信・送達とも\(records)レコード、実行は正常終了" }
            return "送達済み、実行は正常終了（レコード数は未計数）"
        case .recordsDiffer: return "受信\(row.recordsReceived ?? 0)レコード、送達\(row.recordsDelivered ?? 0)レコード"
        case .notDelivered: return "受信後に送達されていません。この日付の実行が正常終了していません"
        case .unfinished: return "送達済みですが、この日付の実行が正常終了していません"
        case .receivedOnly: return "正常終了した実行で受信。送達ステップによる送達はありません"
        }
    }

    func count(_ value: Int64?) -> String { value.map(String.init) ?? unknown }

    func resolution(_ how: String?) -> String {
        switch how {
        case "retry": pick("automatic retry", "自動再試行")
        case "rerun": pick("manual re-run", "手動再実行")
        case "manual": pick("manual run", "手動実行")
        default: how ?? ""
        }
    }

    /// `3m05s`, `2h10m`, `1d4h` / `3分5秒`, `2時間10分`, `1日4時間`.
    func duration(_ seconds: Int64?) -> String {
        guard let seconds else { return "-" }
        let d = seconds / 86_400, h = seconds % 86_400 / 3600, m = seconds % 3600 / 60, s = seconds % 60
        if japanese {
            if d > 0 { return "\(d)日\(h)時間" }
            if h > 0 { return "\(h)時間\(m)分" }
            if m > 0 { return "\(m)分\(s)秒" }
            return "\(s)秒"
        }
        if d > 0 { return "\(d)d\(h)h" }
        if h > 0 { return "\(h)h\(m < 10 ? "0" : "")\(m)m" }
        if m > 0 { return "\(m)m\(s < 10 ? "0" : "")\(s)s" }
        return "\(s)s"
    }

    /// `2026-11-27T06:30:00+09:00` → `2026-11-27 06:30`.
    func short(_ iso: String?) -> String {
        guard let iso else { return "-" }
        return String(iso.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        return String(format: "%.1f%%", rate * 100)
    }

    /// The totals as (label, value) rows, in the order every format shows them.
    func totals(_ report: FailureReport) -> [(String, String)] {
        let c = report.totals.counts
        return [
            (runs, "\(c.runs)"), (succeeded, "\(c.succeeded)"), (failed, "\(c.failed)"), (incidents, "\(report.totals.incidents)"), (recoveredByRetry, "\(c.recoveredByRetry)"),
            (resolvedByRerun, "\(c.resolvedByRerun)"), (unresolvedCount, "\(c.unresolved)"), (missed, "\(c.missed)"), (skipped, "\(c.skipped)"),
            (breaches, "\(c.deadlineBreaches)"), (interrupted, "\(c.interrupted)"), (successRate, percent(report.totals.successRate)),
            (resolutionTime, "\(duration(report.totals.resolutionMedianSeconds)) / \(duration(report.totals.resolutionLongestSeconds))"),
        ]
    }

    func verdict(_ report: FailureReport) -> String {
        let c = report.totals.counts
        if c.failed == 0 && c.missed == 0 { return noFailures }
        if c.unresolved == 0 { return allHandled }
        return japanese ? "\(c.unresolved)\(stillOpen)" : "\(c.unresolved) \(stillOpen)"
    }
}
