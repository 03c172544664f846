/// One notification to send through one channel: what it tells (`subject`) and where it goes.
/// A value: the daemon's edge composes the mail or the command's input from it, and nothing else.
public struct Notice: Sendable, Equatable {
    /// Unique within the daemon's life; the send's result comes back with it.
    public var id: Int
    public var channel: NoticeChannel
    public var subject: NoticeSubject
    /// 1 for the first send; a failed send is tried again with the next number.
    public var attempt: Int

    public init(id: Int, channel: NoticeChannel, subject: NoticeSubject, attempt: Int = 1) {
        self.id = id
        self.channel = channel
        self.subject = subject
        self.attempt = attempt
    }

    /// The run it is about, if any (a storage notice or a reminder is about none).
    public var run: RunID? {
        switch subject {
        case .run(_, let facts): facts.run
        case .deadline(let breach): breach.run
        case .storage, .reminder: nil
        }
    }

    public var event: String {
        switch subject {
        case .run(let event, _): event.rawValue
        case .deadline: NotifyEvent.deadline.rawValue
        case .storage: NotifyEvent.storage.rawValue
        case .reminder: "unresolved"
        }
    }
}

/// Where a notice goes.
public enum NoticeChannel: Sendable, Equatable {
    /// Mail to these addresses (the site's `to`, then the job's).
    case mail(to: [String])
    /// The site's `notify.command`.
    case command

    public var name: String {
        switch self {
        case .mail: "mail"
        case .command: "command"
        }
    }
}

/// What a notice tells.
public enum NoticeSubject: Sendable, Equatable {
    /// A run failed (`failed`, `late`, `upstream`, `storage`), will be retried (`retry`), or
    /// succeeded after a told failure (`recovered`).
    case run(NotifyEvent, NoticeRun)
    /// A slot's run had not started or finished by its deadline.
    case deadline(DeadlineFacts)
    /// The run store cannot be written.
    case storage(problem: String, since: Instant)
    /// The failures still unresolved at one of the `unresolved_at` times, oldest first.
    case reminder([NoticeRun])
}

/// What a notice may say about a run: the record's own fields, never its output nor its
/// environment, so that no personal data (`log_output: false`) nor secret can reach a mail.
public struct NoticeRun: Sendable, Equatable {
    public var job: JobName
    public var run: RunID
    /// The slot's logical time, ISO 8601 with the job's offset, and its date in the job's zone.
    public var logicalTime: String
    public var logicalDate: String
    public var state: RunState
    public var errorClass: ErrorClass?
    /// The run's error line as recorded (`exit status 3`, `file … did not arrive by 07:00`).
    public var errorMessage: String?
    public var failedStep: String?
    public var attempt: Int
    public var trigger: Trigger
    /// When the incident began (the first failed attempt's end), ISO 8601.
    public var since: String
    /// A retry of this attempt is scheduled.
    public var willRetry: Bool

    public init(job: JobName, run: RunID, logicalTime: String, logicalDate: String, state: RunState, errorClass: ErrorClass?,
                errorMessage: String?, failedStep: String?, attempt: Int, trigger: Trigger, since: String, willRetry: Bool = false) {
        self.job = job
        self.run = run
        self.logicalTime = logicalTime
        self.logicalDate = logicalDate
        self.state = state
        self.errorClass = errorClass
        self.errorMessage = errorMessage
        self.failedStep = failedStep
        self.attempt = attempt
        self.trigger = trigger
        self.since = since
        self.willRetry = willRetry
    }
}

/// A deadline breach, as a notice tells it.
public struct DeadlineFacts: Sendable, Equatable {
    public var job: JobName
    /// The slot's logical time (ISO 8601) and date; the deadline (ISO 8601); which one.
    public var logicalTime: String
    public var logicalDate: String
    public var deadline: String
    public var kind: DeadlineBreach.Kind
    /// The slot's run, if it has one yet.
    public var run: RunID?

    public init(job: JobName, logicalTime: String, logicalDate: String, deadline: String, kind: DeadlineBreach.Kind, run: RunID? = nil) {
        self.job = job
        self.logicalTime = logicalTime
        self.logicalDate = logicalDate
        self.deadline = deadline
        self.kind = kind
        self.run = run
    }
}
