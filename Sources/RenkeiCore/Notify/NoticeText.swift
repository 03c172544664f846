/// A notice in words, English or Japanese: a subject line and a body an operator can act on at
/// 6 a.m. — what happened, where, since when, the error line, and the commands to run next.
/// Never the run's output (it may hold residents' data: `log_output: false`) nor its environment
/// (secrets); the error line is the run's recorded message, shown through `SafeText`.
public struct NoticeText: Sendable, Equatable {
    public var subject: String
    public var body: String

    public init(_ notice: NoticeSubject, lang: NoticeLanguage, host: String) {
        let ja = lang == .ja
        var lines: [String] = []
        func field(_ en: String, _ jaName: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            lines.append("  \(ja ? jaName : en): \(SafeText.visible(value))")
        }
        switch notice {
        case .run(let event, let facts):
            let state = facts.state.rawValue
            switch (event, ja) {
            case (.recovered, false): self.subject = "[renkei] RECOVERED \(facts.job) \(facts.logicalDate) on \(host)"
            case (.recovered, true): self.subject = "[renkei] 回復 \(facts.job) \(facts.logicalDate)（\(host)）"
            case (.retry, false): self.subject = "[renkei] \(facts.job) \(facts.logicalDate) attempt \(facts.attempt) failed, a retry follows, on \(host)"
            case (.retry, true): self.subject = "[renkei] \(facts.job) \(facts.logicalDate) 試行 \(facts.attempt) 失敗（再試行予定）（\(host)）"
            case (_, false): self.subject = "[renkei] \(event.rawValue.uppercased()) \(facts.job) \(facts.logicalDate) on \(host)"
            case (_, true): self.subject = "[renkei] \(Self.jaWord(event)) \(facts.job) \(facts.logicalDate)（\(host)）"
            }
            if event == .recovered {
                lines.append(ja ? "ジョブ \(facts.job) は論理日付 \(facts.logicalDate) の実行 \(facts.run) で成功し、通知済みの障害は解消しました。"
                                : "Job \(facts.job) succeeded for \(facts.logicalDate) (run \(facts.run)); the failure told earlier is resolved.")
            } else {
                lines.append(ja ? "ジョブ \(facts.job) の論理日付 \(facts.logicalDate) の実行 \(facts.run) が \(state) で終わりました。"
                                : "Job \(facts.job) run \(facts.run) for \(facts.logicalDate) ended \(state).")
            }
            lines.append("")
            field("job", "ジョブ", facts.job.rawValue)
            field("run", "実行", "\(facts.run)")
            field("host", "ホスト", host)
            field("logical time", "論理時刻", facts.logicalTime)
            field("state", "状態", state)
            field("trigger", "契機", "\(facts.trigger.rawValue), attempt \(facts.attempt)")
            if event != .recovered {
                field("error class", "エラー分類", facts.errorClass?.rawValue)
                field("failed step", "失敗ステップ", facts.failedStep)
                field("error", "エラー", facts.errorMessage)
            }
            field("since", "発生", facts.since)
            lines.append("")
            lines.append(ja ? "確認と再実行:" : "Look and rerun:")
            lines.append("  renkeictl show \(facts.run)")
            if event != .recovered {
                lines.append("  renkeictl rerun \(facts.run) --reason \"...\"")
                if facts.willRetry { lines.append(ja ? "（自動の再試行が予定されています）" : "(an automatic retry is scheduled)") }
            }
        case .deadline(let facts):
            let what = facts.kind == .startBy ? (ja ? "開始" : "started") : (ja ? "終了" : "finished")
            self.subject = ja ? "[renkei] 期限超過 \(facts.job) \(facts.logicalDate)（\(host)）"
                         : "[renkei] DEADLINE \(facts.job) \(facts.logicalDate) on \(host)"
            lines.append(ja ? "ジョブ \(facts.job) の論理日付 \(facts.logicalDate) の実行が期限 \(facts.deadline) までに\(what)していません（\(facts.kind.rawValue)）。"
                            : "The run of \(facts.job) for \(facts.logicalDate) had not \(what) by its deadline \(facts.deadline) (\(facts.kind.rawValue)).")
            lines.append("")
            field("job", "ジョブ", facts.job.rawValue)
            field("host", "ホスト", host)
            field("logical time", "論理時刻", facts.logicalTime)
            lines.append("")
            lines.append(ja ? "確認:" : "Look:")
            lines.append("  renkeictl status")
            lines.append("  renkeictl history --job \(facts.job)")
        case .storage(let problem, let since):
            self.subject = ja ? "[renkei] 記録ストアに書き込めません（\(host)）" : "[renkei] STORAGE the run store cannot be written on \(host)"
            lines.append(ja ? "renkeid は実行の記録ストアに書き込めません。書き込めるようになるまで新しい実行は開始しません。"
                            : "renkeid cannot write its run store; no run starts until it can be written.")
            lines.append("")
            field("problem", "問題", problem)
            field("since", "発生", LogicalTime.iso8601(since.secondsSinceEpoch, in: .utc, utcAsZ: true))
            field("host", "ホスト", host)
            lines.append("")
            lines.append(ja ? "確認:" : "Look:")
            lines.append("  renkeictl status")
            lines.append("  journalctl -u renkeid -e")
        case .reminder(let open):
            self.subject = ja ? "[renkei] 未解決の障害 \(open.count) 件（\(host)）" : "[renkei] \(open.count) failure(s) still unresolved on \(host)"
            lines.append(ja ? "次の障害はまだ解決していません（古い順）:" : "These failures are still unresolved (oldest first):")
            for facts in open {
                lines.append("")
                lines.append("  \(facts.job) \(facts.logicalDate) run \(facts.run): \(facts.state.rawValue)\(facts.errorClass.map { " (\($0.rawValue))" } ?? "")")
                if let message = facts.errorMessage { lines.append("    \(SafeText.visible(message))") }
                lines.append("    \(ja ? "発生" : "since") \(facts.since)")
                lines.append("    renkeictl show \(facts.run)")
                lines.append("    renkeictl rerun \(facts.run) --reason \"...\"")
            }
        }
        lines.append("")
        lines.append(ja ? "-- renkeid（\(host)）。出力や環境変数は含めません: renkeictl show で確認してください。"
                        : "-- renkeid on \(host). Step output and environment are never included: see renkeictl show.")
        body = lines.joined(separator: "\n") + "\n"
    }

    static func jaWord(_ event: NotifyEvent) -> String {
        switch event {
        case .failed: "失敗"
        case .late: "未着"
        case .upstream: "上流失敗"
        case .deadline: "期限超過"
        case .storage: "記録不能"
        case .recovered: "回復"
        case .retry: "再試行"
        }
    }
}
