import Foundation
import RenkeiCore
import RenkeiExecutor

/// Sends one `Notice` through its channel: a mail through the system's sendmail interface
/// (`sendmail -oi -t`, any MTA), or the site's `notify.command` with RENKEI_* variables and the
/// notice as JSON on its standard input. Each is a child process with a time limit; nothing here
/// waits for more than that.
public struct Notifier: Sendable {
    public var settings: NotifySettings
    /// This machine's name, for subjects and Message-IDs.
    public var host: String

    public init(settings: NotifySettings, host: String = Notifier.hostName()) {
        self.settings = settings
        self.host = host
    }

    /// nil when sent; else what went wrong, for the log, the record and `status`.
    public func send(_ notice: Notice, at now: Date = Date()) async -> String? {
        switch notice.channel {
        case .mail(let to):
            guard let mail = settings.mail else { return "notify.mail is no longer configured" }
            let message = mailMessage(notice, to: to, at: now)
            let command = TimedCommand(arguments: [mail.sendmail, "-oi", "-t", "-f", mail.from], environment: Self.baseEnvironment,
                                       input: Array(message.text.utf8), timeLimit: settings.timeout)
            return await command.run()
        case .command:
            guard let argv = settings.command else { return "notify.command is no longer configured" }
            let command = TimedCommand(arguments: argv, environment: Self.baseEnvironment.merging(Self.environment(notice, host: host)) { $1 },
                                       input: Array(Self.json(notice, lang: settings.lang, host: host).utf8), timeLimit: settings.timeout)
            return await command.run()
        }
    }

    /// The mail for `notice`, as sendmail gets it.
    public func mailMessage(_ notice: Notice, to: [String], at now: Date) -> MailMessage {
        let text = NoticeText(notice.subject, lang: settings.lang, host: host)
        let id = "<renkei.\(Int64(now.timeIntervalSince1970)).\(notice.id).\(UUID().uuidString.prefix(8).lowercased())@\(host)>"
        return MailMessage(from: settings.mail?.from ?? "renkei@\(host)", to: to, subject: text.subject, body: text.body,
                           date: Instant(now), messageID: id)
    }

    /// A fixed, small environment: the child gets nothing of renkeid's own (no credentials).
    static let baseEnvironment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"]

    /// RENKEI_* variables for `notify.command`.
    public static func environment(_ notice: Notice, host: String) -> [String: String] {
        var environment = ["RENKEI_NOTIFY_EVENT": notice.event, "RENKEI_HOST": host, "RENKEI_NOTIFY_ATTEMPT": String(notice.attempt)]
        switch notice.subject {
        case .run(_, let facts):
            environment["RENKEI_JOB"] = facts.job.rawValue
            environment["RENKEI_RUN_ID"] = "\(facts.run)"
            environment["RENKEI_LOGICAL_TIME"] = facts.logicalTime
            environment["RENKEI_LOGICAL_DATE"] = facts.logicalDate
            environment["RENKEI_STATE"] = facts.state.rawValue
            environment["RENKEI_ATTEMPT"] = String(facts.attempt)
            if let errorClass = facts.errorClass { environment["RENKEI_ERROR_CLASS"] = errorClass.rawValue }
        case .deadline(let facts):
            environment["RENKEI_JOB"] = facts.job.rawValue
            environment["RENKEI_LOGICAL_TIME"] = facts.logicalTime
            environment["RENKEI_LOGICAL_DATE"] = facts.logicalDate
            environment["RENKEI_DEADLINE"] = facts.kind.rawValue
        case .storage, .reminder:
            break
        }
        return environment
    }

    /// The notice as JSON for `notify.command`'s standard input: the same words as the mail
    /// (`subject`, `body`) and the fields to act on.
    public static func json(_ notice: Notice, lang: NoticeLanguage, host: String) -> String {
        let text = NoticeText(notice.subject, lang: lang, host: host)
        func runObject(_ facts: NoticeRun) -> [String: Any] {
            var object: [String: Any] = ["job": facts.job.rawValue, "run": facts.run.rawValue, "logical_time": facts.logicalTime,
                                         "logical_date": facts.logicalDate, "state": facts.state.rawValue, "attempt": facts.attempt,
                                         "trigger": facts.trigger.rawValue, "since": facts.since, "will_retry": facts.willRetry,
                                         "show": "renkeictl show \(facts.run)", "rerun": "renkeictl rerun \(facts.run) --reason \"...\""]
            if let errorClass = facts.errorClass { object["error_class"] = errorClass.rawValue }
            if let message = facts.errorMessage { object["error"] = message }
            if let step = facts.failedStep { object["failed_step"] = step }
            return object
        }
        var object: [String: Any] = ["event": notice.event, "host": host, "subject": text.subject, "body": text.body]
        switch notice.subject {
        case .run(_, let facts): object["run"] = runObject(facts)
        case .deadline(let facts):
            object["deadline"] = ["job": facts.job.rawValue, "logical_time": facts.logicalTime, "logical_date": facts.logicalDate,
                                  "deadline": facts.deadline, "kind": facts.kind.rawValue]
        case .storage(let problem, _): object["problem"] = problem
        case .reminder(let open): object["unresolved"] = open.map(runObject)
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(cString: buffer)
        return name.isEmpty ? "localhost" : name
    }

    /// Who a notice went to, for its record: the addresses, or the command's path.
    public func recipients(_ notice: Notice) -> String {
        switch notice.channel {
        case .mail(let to): to.joined(separator: ", ")
        case .command: settings.command?.first ?? ""
        }
    }
}
