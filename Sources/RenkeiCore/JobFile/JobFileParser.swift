import Crypto
import Yams

/// Turns the bytes of one job file into a `Job`, or into every problem found in it.
///
/// The YAML is composed into a node tree and read by hand rather than through `Codable`: that way
/// each problem keeps its line and column, and unknown keys (which `Codable` silently ignores) are
/// reported with the list of keys that are allowed.
public struct JobFileParser {
    /// The path shown in messages.
    let file: String
    /// Reads a closed-day file named in `closed_days` (the loader resolves paths and does the I/O).
    let readClosedDayFile: ClosedDayFileReader
    /// Reads another file a job names beside it (a substitution table): its path and text.
    var readCompanionFile: CompanionFileReader = { _ in .failure(CompanionFileError("files named by a job are not read here")) }
    /// Problems found so far; parsing goes on after each one to report them all in one pass.
    var problems: [JobFileProblem] = []
    /// At most this many problems are listed for one file.
    public static let maximumProblems = 100

    /// Parses `bytes`, read from `file`, as the job named by the file name.
    public static func parse(file: String, name: String, bytes: [UInt8],
                             readClosedDayFile: @escaping ClosedDayFileReader = { path in .failure(.unreadable(path, "closed-day files are not read here")) },
                             readCompanionFile: @escaping CompanionFileReader = { _ in .failure(CompanionFileError("files named by a job are not read here")) }) -> Result<Job, JobFileFailure> {
        var parser = JobFileParser(file: file, readClosedDayFile: readClosedDayFile)
        parser.readCompanionFile = readCompanionFile
        let job = parser.parseJob(name: name, bytes: bytes)
        if let job, parser.problems.isEmpty { return .success(job) }
        // In file order, as a compiler lists them, whatever order the keys were checked in.
        var ordered = parser.problems.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        // A file of garbage must not bury the terminal (or the journal) in errors: the first
        // hundred say what is wrong, the rest are counted.
        if ordered.count > maximumProblems {
            let omitted = ordered.count - maximumProblems
            ordered.removeLast(omitted)
            ordered.append(.omitted(omitted, in: file))
        }
        return .failure(JobFileFailure(problems: ordered))
    }

    // MARK: - The document

    mutating func parseJob(name: String, bytes: [UInt8]) -> Job? {
        let jobName = JobName(name)
        if jobName == nil {
            report(line: 0, column: 0, "'\(name)' is not a valid job name (the file name without .yaml): \(JobName.rule); rename the file")
        }
        guard let text = decodeUTF8(bytes) else { return nil }
        if text.allSatisfy({ $0.isWhitespace }) {
            report(line: 0, column: 0, "the file is empty: a job needs at least 'steps:' with one step")
            return nil
        }
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                report(line: 0, column: 0, "the file holds no YAML document (only comments?): a job needs at least 'steps:' with one step")
                return nil
            }
            root = composed
        } catch {
            reportYAMLError(error, text: text)
            return nil
        }
        guard case .mapping(let mapping) = root else {
            report(root, "a job file is a mapping of keys such as 'schedule:' and 'steps:', found \(kind(of: root))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.jobKeys, what: "job")

        let description = fields["description"].flatMap { readString($0, key: "description") }
        let schedule = fields["schedule"].flatMap { readNonEmptyString($0, key: "schedule") }
        let parsedSchedule = fields["schedule"].flatMap { node in schedule.flatMap { readSchedule(node, text: $0) } }
        let (after, afterPositions) = fields["after"].map { readAfter($0) } ?? ([], [:])
        var afterWait = Job.defaultAfterWait
        if let node = fields["after_wait"], let value = readDuration(node, key: "after_wait", zeroAllowed: false) {
            if fields["after"] == nil {
                report(node, "'after_wait' goes with 'after:' (how long a slot waits for the jobs named there): add 'after:' or remove it")
            }
            afterWait = value
        }
        let trigger = fields["trigger"].flatMap { readTrigger($0) }
        let timezone = fields["timezone"].flatMap { readTimeZone($0) }
        let (closedDays, closedDayCalendar) = fields["closed_days"].map { readClosedDays($0) } ?? ([], ClosedDays())
        let onClosedDay = fields["on_closed_day"].flatMap { readChoice($0, key: "on_closed_day", as: OnClosedDay.self) } ?? .skip
        let catchUp = fields["catch_up"].flatMap { readChoice($0, key: "catch_up", as: CatchUp.self) } ?? .latest
        let catchUpWindow = fields["catch_up_window"].flatMap { readDuration($0, key: "catch_up_window", zeroAllowed: false) } ?? Job.defaultCatchUpWindow
        let overlap = fields["overlap"].flatMap { readChoice($0, key: "overlap", as: Overlap.self) } ?? .skip
        let timeout = fields["timeout"].flatMap { readDuration($0, key: "timeout", zeroAllowed: false) }
        let killGrace = fields["kill_grace"].flatMap { readDuration($0, key: "kill_grace", zeroAllowed: true) } ?? Job.defaultKillGrace
        let logOutput = fields["log_output"].flatMap { readBool($0, key: "log_output") } ?? true
        let retry = fields["retry"].flatMap { readRetry($0) }
        let deadline = fields["deadline"].flatMap { readDeadline($0) }
        let environment = fields["environment"].map { readEnvironment($0) } ?? [:]
        let steps: [Step]
        if let stepsNode = fields["steps"] {
            steps = readSteps(stepsNode, environment: environment)
        } else {
            report(root, "'steps:' is missing: a job needs at least one step, such as\n  steps:\n    - name: export\n      run: [\"/usr/local/bin/export\"]")
            steps = []
        }
        let retention = fields["retention"].flatMap { readRetention($0) }
        let notify = fields["notify"].flatMap { readJobNotify($0) }
        guard let jobName, problems.isEmpty else { return nil }
        var job = Job(
            name: jobName, description: description, schedule: schedule, parsedSchedule: parsedSchedule,
            after: after, afterWait: afterWait, trigger: trigger?.trigger, timezone: timezone,
            closedDays: closedDays, closedDayCalendar: closedDayCalendar, onClosedDay: onClosedDay, catchUp: catchUp, catchUpWindow: catchUpWindow,
            overlap: overlap, timeout: timeout, killGrace: killGrace, logOutput: logOutput, retry: retry,
            deadline: deadline, environment: environment, steps: steps,
            definitionHash: SHA256.hash(data: bytes).map { byte in String(byte, radix: 16).leftPadded(to: 2) }.joined(),
            positions: JobFilePositions(after: afterPositions, triggerPath: trigger?.pathPosition)
        )
        job.retention = retention
        job.notify = notify
        return job
    }

    static let jobKeys = [
        "description", "schedule", "after", "after_wait", "trigger", "timezone", "closed_days", "on_closed_day", "catch_up", "catch_up_window",
        "overlap", "timeout", "kill_grace", "log_output", "retry", "deadline", "environment", "steps",
        "retention", "notify",
    ]
    static let stepKeys = ["name", "run", "receive", "deliver", "check", "convert", "shell", "timeout"]
    /// What a step does: exactly one of these keys.
    static let stepKinds = ["run", "receive", "deliver", "check", "convert"]
    static let retryKeys = ["limit", "delay", "backoff", "max_delay"]
    static let deadlineKeys = ["start_by", "finish_by"]
}

/// Reads a file a job names beside it, relative to the job file: its full path and its text, or why not.
public typealias CompanionFileReader = (String) -> Result<(path: String, text: String), CompanionFileError>

/// Why a file a job names cannot be read, in the operator's words.
public struct CompanionFileError: Error, Sendable {
    public let reason: String
    /// The file is there but refused: someone Renkei does not trust could change it (`reason` says who and the fix).
    public let refused: Bool
    public init(_ reason: String, refused: Bool = false) {
        self.reason = reason
        self.refused = refused
    }
}

/// Reads a file of closed dates for `closed_days` (dependency of the parser, which does no I/O).
public typealias ClosedDayFileReader = (String) -> Result<Set<JapaneseHolidays.Day>, ClosedDayFileError>

public enum ClosedDayFileError: Error {
    /// The file cannot be read: path tried and why.
    case unreadable(String, String)
    /// A line of the file is not a date.
    case invalid(String, ClosedDays.FileProblem)
    /// The file is there but refused (path, the refusal with its fix): someone Renkei does not
    /// trust could change it.
    case refused(String, String)
}

/// All problems of one job file.
public struct JobFileFailure: Error, Sendable, Equatable {
    public var problems: [JobFileProblem]

    public init(problems: [JobFileProblem]) { self.problems = problems }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
