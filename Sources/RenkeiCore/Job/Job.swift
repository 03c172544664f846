/// One data link, as its job file describes it. Built only by `JobFileParser`, so every value here
/// has already been checked.
public struct Job: Sendable, Equatable {
    /// The file name without `.yaml`; the job's identity everywhere.
    public var name: JobName
    /// What the link does, in the operator's words.
    public var description: String?
    /// When it runs, as written (`Mon..Fri *-*-* 06:30` or cron `30 6 * * 1-5`).
    public var schedule: String?
    /// The same, parsed; nil for a job that only runs when asked.
    public var parsedSchedule: Schedule?
    /// Jobs whose runs for the same logical date must succeed before this job's run does
    /// (`after:`), in the order written; no duplicates. A job with `after:` and no schedule runs
    /// once they all have.
    public var after: [JobName]
    /// How long a slot waits for its upstreams before it fails with error class `upstream`.
    public var afterWait: JobDuration
    /// Files whose arrival starts the job; nil when none do.
    public var trigger: FileTrigger?
    /// IANA zone the schedule and the logical date are read in; nil means the machine's zone.
    public var timezone: String?
    /// Calendars of days the city hall is closed (`jp-municipal`, or files of extra dates), as written.
    public var closedDays: [String]
    /// The same, resolved: which days are closed.
    public var closedDayCalendar: ClosedDays
    /// What a slot that falls on a closed day does.
    public var onClosedDay: OnClosedDay
    /// Which past slots run after the daemon was down.
    public var catchUp: CatchUp
    /// How far back catch-up looks; older slots are recorded `missed`.
    public var catchUpWindow: JobDuration
    /// What a slot does while the previous run still runs.
    public var overlap: Overlap
    /// How long the whole run may take; nil means no limit.
    public var timeout: JobDuration?
    /// How long a process group has between SIGTERM and SIGKILL.
    public var killGrace: JobDuration
    /// Whether step output goes to the journal (false for links that print personal data).
    public var logOutput: Bool
    /// Automatic retries after a failure; nil means none.
    public var retry: RetryPolicy?
    /// Local times by which a slot's run should have started and finished.
    public var deadline: Deadline?
    /// Variables every step gets, after the `RENKEI_*` ones; values may use `${VAR}`.
    public var environment: [String: String]
    /// The work, in order; never empty, names unique.
    public var steps: [Step]
    /// SHA-256 of the job file's bytes, recorded with every run so a changed definition shows.
    public var definitionHash: String
    /// Where the file wrote what is checked after parsing (`after:` names, `trigger.path`).
    public var positions: JobFilePositions
    /// How long a finished run's output tails and work directory are kept (`retention:`); nil
    /// means the daemon-wide default (`renkeid --retention`).
    public var retention: JobDuration? = nil
    /// `notify:`: more recipients for this job's notices, and the events told for it.
    public var notify: JobNotify? = nil

    public init(
        name: JobName, description: String? = nil, schedule: String? = nil, parsedSchedule: Schedule? = nil,
        after: [JobName] = [], afterWait: JobDuration = Job.defaultAfterWait, trigger: FileTrigger? = nil, timezone: String? = nil,
        closedDays: [String] = [], closedDayCalendar: ClosedDays = ClosedDays(), onClosedDay: OnClosedDay = .skip, catchUp: CatchUp = .latest,
        catchUpWindow: JobDuration = Job.defaultCatchUpWindow, overlap: Overlap = .skip,
        timeout: JobDuration? = nil, killGrace: JobDuration = Job.defaultKillGrace, logOutput: Bool = true,
        retry: RetryPolicy? = nil, deadline: Deadline? = nil, environment: [String: String] = [:],
        steps: [Step], definitionHash: String = "", positions: JobFilePositions = JobFilePositions()
    ) {
        self.name = name
        self.description = description
        self.schedule = schedule
        self.parsedSchedule = parsedSchedule
        self.after = after
        self.afterWait = afterWait
        self.trigger = trigger
        self.timezone = timezone
        self.closedDays = closedDays
        self.closedDayCalendar = closedDayCalendar
        self.onClosedDay = onClosedDay
        self.catchUp = catchUp
        self.catchUpWindow = catchUpWindow
        self.overlap = overlap
        self.timeout = timeout
        self.killGrace = killGrace
        self.logOutput = logOutput
        self.retry = retry
        self.deadline = deadline
        self.environment = environment
        self.steps = steps
        self.definitionHash = definitionHash
        self.positions = positions
    }

    public static let defaultCatchUpWindow = JobDuration(seconds: 86_400)
    public static let defaultKillGrace = JobDuration(seconds: 10)
    public static let defaultAfterWait = JobDuration(seconds: 6 * 3_600)

    /// The job's schedule in its zone (`machineZone` when it names none), with its closed days;
    /// nil for a job without a schedule.
    public func jobSchedule(machineZone: String) -> JobSchedule? {
        guard let parsedSchedule else { return nil }
        let zone = ZoneRules.named(timezone ?? machineZone) ?? .utc
        return JobSchedule(schedule: parsedSchedule, zone: zone, closedDays: closedDayCalendar, onClosedDay: onClosedDay)
    }

    /// The step named `name`, if the job has one.
    public func step(named name: String) -> Step? { steps.first { $0.name == name } }
}

/// One command of a job.
public struct Step: Sendable, Equatable {
    /// Unique within the job; shown in `show`, the journal and `rerun --only`.
    public var name: String
    /// What to execute.
    public var command: Command
    /// How long this step may take; nil means only the job's timeout applies.
    public var timeout: JobDuration?

    public init(name: String, command: Command, timeout: JobDuration? = nil) {
        self.name = name
        self.command = command
        self.timeout = timeout
    }
}

/// What a step does: an argv executed directly, a shell line the job file asked for with
/// `shell: true`, or a built-in link step (`receive:`, `deliver:`), which runs as a process too.
public enum Command: Sendable, Equatable {
    case argv([String])
    case shell(String)
    case link(LinkStep)

    /// The argv that is executed, before `${VAR}` expansion; for a built-in step, what it is
    /// (`renkeictl link-step` with its request file, once the run has started).
    public var arguments: [String] {
        switch self {
        case .argv(let arguments): arguments
        case .shell(let line): ["/bin/sh", "-c", line]
        case .link(let step): ["renkeictl", "link-step", "(\(step.verb))"]
        }
    }
}

public enum OnClosedDay: String, Sendable, CaseIterable {
    /// The slot is recorded `skipped`.
    case skip
    /// The run moves to the previous open day.
    case before
    /// The run moves to the next open day.
    case after
}

public enum CatchUp: String, Sendable, CaseIterable {
    /// Run only the newest slot that was missed.
    case latest
    /// Run every missed slot, oldest first.
    case all
    /// Run none; record them `missed`.
    case none
}

public enum Overlap: String, Sendable, CaseIterable {
    /// Record the new slot `skipped`.
    case skip
    /// Run the new slot when the previous run ends.
    case queue
}

/// `retry: { limit: 3, delay: 1m, backoff: 2, max_delay: 15m }`.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first failure; `limit: 3` means at most four attempts.
    public var limit: Int
    /// Wait before the first retry.
    public var delay: JobDuration
    /// Each further wait is the previous one times this.
    public var backoff: Double
    /// No wait is longer than this.
    public var maxDelay: JobDuration?

    public init(limit: Int, delay: JobDuration, backoff: Double = 1, maxDelay: JobDuration? = nil) {
        self.limit = limit
        self.delay = delay
        self.backoff = backoff
        self.maxDelay = maxDelay
    }

    /// The wait before retry number `retry` (1-based): `delay × backoff^(retry-1)`, capped by `maxDelay`.
    public func delay(beforeRetry retry: Int) -> JobDuration {
        var seconds = Double(delay.seconds)
        for _ in 1..<max(retry, 1) { seconds *= backoff }
        let cap = Double(maxDelay?.seconds ?? JobDuration.maximumSeconds)
        return JobDuration(seconds: Int64(min(seconds, cap).rounded()))
    }
}

/// `deadline: { start_by: "07:00", finish_by: "08:00" }`, local times on the slot's day.
public struct Deadline: Sendable, Equatable {
    public var startBy: TimeOfDay?
    public var finishBy: TimeOfDay?

    public init(startBy: TimeOfDay? = nil, finishBy: TimeOfDay? = nil) {
        self.startBy = startBy
        self.finishBy = finishBy
    }
}

/// A wall-clock time `HH:MM` or `HH:MM:SS`.
public struct TimeOfDay: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let hour: Int
    public let minute: Int
    public let second: Int

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
              parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]),
              (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        let second = parts.count == 3 ? Int(parts[2]) : 0
        guard let second, (0..<60).contains(second) else { return nil }
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    public var secondsSinceMidnight: Int { hour * 3600 + minute * 60 + second }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool { lhs.secondsSinceMidnight < rhs.secondsSinceMidnight }

    public var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return second == 0 ? "\(two(hour)):\(two(minute))" : "\(two(hour)):\(two(minute)):\(two(second))"
    }
}
