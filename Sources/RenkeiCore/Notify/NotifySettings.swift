/// `notify:` in renkei.yaml: who hears about which events, and how.
public struct NotifySettings: Sendable, Equatable {
    /// Mail through the system's sendmail interface; nil: no mail.
    public var mail: MailSettings?
    /// A program (argv, no shell) given RENKEI_* variables and the notice as JSON on stdin; nil: none.
    public var command: [String]?
    /// The events told, for jobs whose own `notify.on` says nothing.
    public var on: Set<NotifyEvent>
    /// Local times (the machine's zone) of a reminder listing the failures still unresolved.
    public var unresolvedAt: [TimeOfDay]
    /// The language of subjects and bodies.
    public var lang: NoticeLanguage
    /// How long one sendmail or command may take before it is killed (SIGTERM, then SIGKILL).
    public var timeout: JobDuration
    /// How a failed send is tried again: `limit` more times, waiting `delay` (× `backoff`).
    public var retry: RetryPolicy

    public static let defaultEvents: Set<NotifyEvent> = [.failed, .late, .upstream, .deadline, .storage, .recovered]
    public static let defaultTimeout = JobDuration(seconds: 30)
    public static let defaultRetry = RetryPolicy(limit: 5, delay: JobDuration(seconds: 60), backoff: 2, maxDelay: JobDuration(seconds: 1800))

    public init(mail: MailSettings? = nil, command: [String]? = nil, on: Set<NotifyEvent> = NotifySettings.defaultEvents,
                unresolvedAt: [TimeOfDay] = [], lang: NoticeLanguage = .en, timeout: JobDuration = NotifySettings.defaultTimeout,
                retry: RetryPolicy = NotifySettings.defaultRetry) {
        self.mail = mail
        self.command = command
        self.on = on
        self.unresolvedAt = unresolvedAt
        self.lang = lang
        self.timeout = timeout
        self.retry = retry
    }
}

/// `notify.mail`: `{ to: [joho-ops@city.example], from: renkei@host, sendmail: /usr/sbin/sendmail }`.
public struct MailSettings: Sendable, Equatable {
    public var to: [String]
    public var from: String
    /// The sendmail-compatible program (exim4, postfix, msmtp all install one).
    public var sendmail: String

    public static let defaultSendmail = "/usr/sbin/sendmail"

    public init(to: [String], from: String, sendmail: String = MailSettings.defaultSendmail) {
        self.to = to
        self.from = from
        self.sendmail = sendmail
    }
}

/// Language of a notice.
public enum NoticeLanguage: String, Sendable, CaseIterable {
    case en, ja
}

/// What a notification is about, as `on:` names it.
public enum NotifyEvent: String, Sendable, CaseIterable, Comparable {
    /// A run failed for good (no retry left): classes exit, signal, timeout, spawn, interrupted, data…
    case failed
    /// An expected file did not arrive in time (class `late`).
    case late
    /// A dependency failed or did not finish in time (class `upstream`).
    case upstream
    /// A slot's run had not started or finished by its deadline.
    case deadline
    /// The run store cannot be written.
    case storage
    /// A job whose failure was told succeeded for the same logical date.
    case recovered
    /// A failed attempt that a retry will follow (not told unless asked for).
    case retry

    public static func < (lhs: NotifyEvent, rhs: NotifyEvent) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The event a final failure of this class is told as.
    public static func failure(_ errorClass: ErrorClass?) -> NotifyEvent {
        switch errorClass {
        case .late: .late
        case .upstream: .upstream
        case .deadline: .deadline
        case .storage: .storage
        default: .failed
        }
    }
}

/// A job's own `notify: { to: […], on: […] }`: more recipients, and (if `on` is given) the events
/// told for this job instead of the site's list.
public struct JobNotify: Sendable, Equatable {
    public var to: [String]
    public var on: Set<NotifyEvent>?

    public init(to: [String] = [], on: Set<NotifyEvent>? = nil) {
        self.to = to
        self.on = on
    }
}
