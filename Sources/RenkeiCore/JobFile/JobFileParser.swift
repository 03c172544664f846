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
    /// Problems found so far; parsing goes on after each one to report them all in one pass.
    var problems: [JobFileProblem] = []

    /// Parses `bytes`, read from `file`, as the job named by the file name.
    public static func parse(file: String, name: String, bytes: [UInt8],
                             readClosedDayFile: @escaping ClosedDayFileReader = { path in .failure(.unreadable(path, "closed-day files are not read here")) }) -> Result<Job, JobFileFailure> {
        var parser = JobFileParser(file: file, readClosedDayFile: readClosedDayFile)
        let job = parser.parseJob(name: name, bytes: bytes)
        if let job, parser.problems.isEmpty { return .success(job) }
        // In file order, as a compiler lists them, whatever order the keys were checked in.
        let ordered = parser.problems.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        return .failure(JobFileFailure(problems: ordered))
    }

    // MARK: - The document

    private mutating func parseJob(name: String, bytes: [UInt8]) -> Job? {
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
        guard let jobName, problems.isEmpty else { return nil }
        return Job(
            name: jobName, description: description, schedule: schedule, parsedSchedule: parsedSchedule, timezone: timezone,
            closedDays: closedDays, closedDayCalendar: closedDayCalendar, onClosedDay: onClosedDay, catchUp: catchUp, catchUpWindow: catchUpWindow,
            overlap: overlap, timeout: timeout, killGrace: killGrace, logOutput: logOutput, retry: retry,
            deadline: deadline, environment: environment, steps: steps,
            definitionHash: SHA256.hash(data: bytes).map { byte in String(byte, radix: 16).leftPadded(to: 2) }.joined()
        )
    }

    static let jobKeys = [
        "description", "schedule", "timezone", "closed_days", "on_closed_day", "catch_up", "catch_up_window",
        "overlap", "timeout", "kill_grace", "log_output", "retry", "deadline", "environment", "steps",
    ]
    static let stepKeys = ["name", "run", "shell", "timeout"]
    static let retryKeys = ["limit", "delay", "backoff", "max_delay"]
    static let deadlineKeys = ["start_by", "finish_by"]

    // MARK: - Sections

    private mutating func readRetry(_ node: Node) -> RetryPolicy? {
        guard case .mapping(let mapping) = node else {
            report(node, "'retry' must be a mapping such as { limit: 3, delay: 1m, backoff: 2, max_delay: 15m }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.retryKeys, what: "retry")
        var limit: Int?
        if let node = fields["limit"] {
            limit = readInt(node, key: "retry.limit")
            if let value = limit, !(0...100).contains(value) {
                report(node, "'retry.limit' is \(value): give the number of retries after the first failure, 0 to 100")
                limit = nil
            }
        } else {
            report(node, "'retry' needs 'limit:', the number of retries after the first failure")
        }
        let delay = fields["delay"].flatMap { readDuration($0, key: "retry.delay", zeroAllowed: true) } ?? JobDuration(seconds: 60)
        var backoff = 1.0
        if let node = fields["backoff"], let value = readNumber(node, key: "retry.backoff") {
            if value < 1 || value > 100 {
                report(node, "'retry.backoff' is \(value): each wait is the previous one times this, so give a number from 1 to 100")
            } else {
                backoff = value
            }
        }
        let maxDelay = fields["max_delay"].flatMap { readDuration($0, key: "retry.max_delay", zeroAllowed: false) }
        if let maxDelay, maxDelay < delay, let node = fields["max_delay"] {
            report(node, "'retry.max_delay' (\(maxDelay)) is shorter than 'retry.delay' (\(delay))")
        }
        guard let limit else { return nil }
        return RetryPolicy(limit: limit, delay: delay, backoff: backoff, maxDelay: maxDelay)
    }

    private mutating func readDeadline(_ node: Node) -> Deadline? {
        guard case .mapping(let mapping) = node else {
            report(node, "'deadline' must be a mapping such as { start_by: \"07:00\", finish_by: \"08:00\" }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.deadlineKeys, what: "deadline")
        let startBy = fields["start_by"].flatMap { readTimeOfDay($0, key: "deadline.start_by") }
        let finishBy = fields["finish_by"].flatMap { readTimeOfDay($0, key: "deadline.finish_by") }
        if let startBy, let finishBy, finishBy < startBy, let node = fields["finish_by"] {
            report(node, "'deadline.finish_by' (\(finishBy)) is before 'deadline.start_by' (\(startBy))")
        }
        if fields.isEmpty { report(node, "'deadline' needs 'start_by:', 'finish_by:' or both") }
        return Deadline(startBy: startBy, finishBy: finishBy)
    }

    private mutating func readEnvironment(_ node: Node) -> [String: String] {
        guard case .mapping(let mapping) = node else {
            report(node, "'environment' must be a mapping of NAME: value, found \(kind(of: node))")
            return [:]
        }
        var environment: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let name = scalarText(keyNode) else {
                report(keyNode, "a variable name must be text, found \(kind(of: keyNode))")
                continue
            }
            guard VariableExpansion.isVariableName(name) else {
                report(keyNode, "'\(name)' is not a variable name: use letters, digits and '_', not starting with a digit")
                continue
            }
            if RunEnvironment.renkeiVariables.contains(name) || name == RunEnvironment.rerunVariable {
                report(keyNode, "'\(name)' is set by Renkei for every run and cannot be set here")
                continue
            }
            guard case .scalar(let scalar) = valueNode, !isNull(scalar) else {
                report(valueNode, "'environment.\(name)' needs a value (write '' for an empty one), found \(kind(of: valueNode))")
                continue
            }
            checkReferences(in: scalar, known: RunEnvironment.predefinedNames, what: "'environment.\(name)'")
            environment[name] = scalar.string
        }
        return environment
    }

    private mutating func readSteps(_ node: Node, environment: [String: String]) -> [Step] {
        guard case .sequence(let sequence) = node else {
            report(node, "'steps' must be a list of steps (each '- name: …' with 'run:'), found \(kind(of: node))")
            return []
        }
        if sequence.isEmpty {
            report(node, "'steps' is empty: a job needs at least one step")
            return []
        }
        let known = RunEnvironment.predefinedNames.union(environment.keys)
        var steps: [Step] = []
        var firstLineOfName: [String: Int] = [:]
        for stepNode in sequence {
            let step = readStep(stepNode, known: known)
            if let nameNode = stepNode.mapping?["name"], case .scalar(let scalar) = nameNode {
                if let firstLine = firstLineOfName[scalar.string] {
                    report(nameNode, "duplicate step name '\(scalar.string)' (first used on line \(firstLine)): step names must be unique so 'rerun --only' can name one")
                    continue
                }
                firstLineOfName[scalar.string] = nameNode.mark?.line ?? 0
            }
            if let step { steps.append(step) }
        }
        return steps
    }

    private mutating func readStep(_ node: Node, known: Set<String>) -> Step? {
        guard case .mapping(let mapping) = node else {
            report(node, "each step must be a mapping with 'name:' and 'run:', found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.stepKeys, what: "step")
        var name: String?
        if let nameNode = fields["name"] {
            name = readNonEmptyString(nameNode, key: "name")
            if let value = name, !JobName.isValid(value) {
                report(nameNode, "'\(value)' is not a valid step name: a step name starts with a letter or digit and holds only letters, digits, '.', '_' and '-'")
                name = nil
            }
        } else {
            report(node, "this step has no 'name:'")
        }
        let shell = fields["shell"].flatMap { readBool($0, key: "shell") } ?? false
        let timeout = fields["timeout"].flatMap { readDuration($0, key: "timeout", zeroAllowed: false) }
        var command: Command?
        if let runNode = fields["run"] {
            command = readCommand(runNode, shell: shell, shellNode: fields["shell"], known: known)
        } else {
            report(node, "step '\(name ?? "?")' has no 'run:' (a list such as [\"/usr/bin/env\", \"true\"])")
        }
        guard let name, let command else { return nil }
        return Step(name: name, command: command, timeout: timeout)
    }

    private mutating func readCommand(_ node: Node, shell: Bool, shellNode: Node?, known: Set<String>) -> Command? {
        switch node {
        case .sequence(let sequence):
            if shell, let shellNode {
                report(shellNode, "'shell: true' takes 'run' as one string (a shell line), not a list")
                return nil
            }
            if sequence.isEmpty {
                report(node, "'run' is empty: give the program and its arguments, such as [\"/usr/bin/env\", \"true\"]")
                return nil
            }
            var arguments: [String] = []
            for element in sequence {
                guard case .scalar(let scalar) = element else {
                    report(element, "each element of 'run' must be text, found \(kind(of: element))")
                    return nil
                }
                checkReferences(in: scalar, known: known, what: "'run'")
                arguments.append(scalar.string)
            }
            if arguments[0].isEmpty {
                report(sequence.first!, "the program in 'run' is empty")
                return nil
            }
            return .argv(arguments)
        case .scalar(let scalar):
            if scalar.string.trimmingASCIIWhitespace().isEmpty {
                report(node, "'run' is empty: give the program and its arguments, such as [\"/usr/bin/env\", \"true\"]")
                return nil
            }
            guard shell else {
                report(node, "'run' is a string, which would need a shell: write it as a list [\"program\", \"arg\", …] (run without a shell), or add 'shell: true' to run it with /bin/sh -c")
                return nil
            }
            // The shell expands ${VAR} itself from the run's environment; it may also use its own variables.
            return .shell(scalar.string)
        default:
            report(node, "'run' must be a list such as [\"program\", \"arg\"], found \(kind(of: node))")
            return nil
        }
    }

    private mutating func readClosedDays(_ node: Node) -> ([String], ClosedDays) {
        let elements: [Node]
        switch node {
        case .scalar: elements = [node]
        case .sequence(let sequence): elements = Array(sequence)
        default:
            report(node, "'closed_days' must be a calendar name (jp-municipal), a file of dates, or a list of them, found \(kind(of: node))")
            return ([], ClosedDays())
        }
        var names: [String] = []
        var calendar = ClosedDays()
        for element in elements {
            guard let value = readNonEmptyString(element, key: "closed_days") else { continue }
            names.append(value)
            if value == "jp-municipal" {
                calendar.jpMunicipal = true
                continue
            }
            switch readClosedDayFile(value) {
            case .success(let dates):
                calendar.extraDates.formUnion(dates)
            case .failure(.unreadable(let path, let reason)):
                report(element, "closed_days '\(value)' is not a known calendar (jp-municipal) and cannot be read as a file of dates (\(path): \(reason))")
            case .failure(.invalid(let path, let problem)):
                problems.append(JobFileProblem(file: path, line: problem.line, column: problem.column, message: problem.message))
            }
        }
        return (names, calendar)
    }

    private mutating func readSchedule(_ node: Node, text: String) -> Schedule? {
        do {
            return try Schedule.parse(text)
        } catch {
            guard case .scalar(let scalar) = node else { return nil }
            let quoteWidth = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
            report(line: scalar.mark?.line ?? 0, column: (scalar.mark?.column ?? 0) + quoteWidth + error.column - 1,
                   "bad 'schedule': \(error.reason) (in \"\(text)\"; systemd calendar syntax as in 'man systemd.time', or 5-field cron)")
            return nil
        }
    }

    private mutating func readTimeZone(_ node: Node) -> String? {
        guard let value = readNonEmptyString(node, key: "timezone") else { return nil }
        guard TimeZoneCatalog.isKnown(value) else {
            report(node, "unknown time zone '\(value)': use an IANA name from the tz database, such as Asia/Tokyo or UTC")
            return nil
        }
        return value
    }

    // MARK: - Scalars

    /// The mapping's values by key, after reporting keys that are not text or not allowed.
    private mutating func readMapping(_ mapping: Node.Mapping, allowed: [String], what: String) -> [String: Node] {
        var fields: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = scalarText(keyNode) else {
                report(keyNode, "a key must be text, found \(kind(of: keyNode))")
                continue
            }
            guard allowed.contains(key) else {
                var message = "unknown key '\(key)' in \(what)"
                if let suggestion = Self.closest(to: key, in: allowed) { message += " (did you mean '\(suggestion)'?)" }
                message += "; allowed keys: " + allowed.joined(separator: ", ")
                report(keyNode, message)
                continue
            }
            fields[key] = value
        }
        return fields
    }

    private mutating func readString(_ node: Node, key: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(node, "'\(key)' must be text, found \(kind(of: node))")
            return nil
        }
        return scalar.string
    }

    private mutating func readNonEmptyString(_ node: Node, key: String) -> String? {
        guard let value = readString(node, key: key) else { return nil }
        if value.trimmingASCIIWhitespace().isEmpty {
            report(node, "'\(key)' is empty")
            return nil
        }
        return value
    }

    private mutating func readBool(_ node: Node, key: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.string {
            case "true": return true
            case "false": return false
            default: break
            }
        }
        report(node, "'\(key)' must be true or false, found \(describe(node))")
        return nil
    }

    private mutating func readInt(_ node: Node, key: String) -> Int? {
        if case .scalar(let scalar) = node, scalar.style == .plain, let value = Int(scalar.string) { return value }
        report(node, "'\(key)' must be a whole number, found \(describe(node))")
        return nil
    }

    private mutating func readNumber(_ node: Node, key: String) -> Double? {
        if case .scalar(let scalar) = node, scalar.style == .plain, let value = Double(scalar.string), value.isFinite { return value }
        report(node, "'\(key)' must be a number, found \(describe(node))")
        return nil
    }

    private mutating func readDuration(_ node: Node, key: String, zeroAllowed: Bool) -> JobDuration? {
        guard case .scalar(let scalar) = node else {
            report(node, "'\(key)' must be a duration such as 30s, 5m, 2h or 1h30m, found \(kind(of: node))")
            return nil
        }
        do {
            let duration = try JobDuration.parse(scalar.string)
            if duration == .zero && !zeroAllowed {
                report(node, "'\(key)' is 0s, which makes no sense here: give a positive duration such as 30m, or leave the key out")
                return nil
            }
            return duration
        } catch {
            report(node, "bad '\(key)': \(error)")
            return nil
        }
    }

    private mutating func readTimeOfDay(_ node: Node, key: String) -> TimeOfDay? {
        guard case .scalar(let scalar) = node, let time = TimeOfDay(scalar.string) else {
            report(node, "'\(key)' must be a local time \"HH:MM\" such as \"07:00\" (quote it), found \(describe(node))")
            return nil
        }
        return time
    }

    private mutating func readChoice<Choice: RawRepresentable & CaseIterable>(_ node: Node, key: String, as: Choice.Type) -> Choice? where Choice.RawValue == String {
        if case .scalar(let scalar) = node, let choice = Choice(rawValue: scalar.string) { return choice }
        let choices = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        report(node, "'\(key)' must be one of \(choices), found \(describe(node))")
        return nil
    }

    /// Reports `${NAME}` references in `scalar` that no variable defines.
    private mutating func checkReferences(in scalar: Node.Scalar, known: Set<String>, what: String) {
        let quoteWidth = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
        let line = scalar.mark?.line ?? 0
        let column = (scalar.mark?.column ?? 0) + quoteWidth
        do {
            for reference in try VariableExpansion.references(in: scalar.string) where !known.contains(reference.name) {
                report(line: line, column: column + reference.offset, "in \(what): \(VariableExpansion.Problem.undefined(reference.name, offset: reference.offset))")
            }
        } catch {
            report(line: line, column: column + error.offset, "in \(what): \(error)")
        }
    }

    // MARK: - Reporting

    private mutating func report(_ node: Node, _ message: String) {
        report(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message)
    }

    private mutating func report(line: Int, column: Int, _ message: String) {
        problems.append(JobFileProblem(file: file, line: line, column: column, message: message))
    }

    private func scalarText(_ node: Node) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    private func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar) where isNull(scalar): "nothing (an empty value)"
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    private func describe(_ node: Node) -> String { kind(of: node) }

    /// `key:` with nothing after it, or `~` / `null`: YAML's null, which is never a useful value here.
    private func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The allowed key a typo most likely meant, if one is close.
    static func closest(to key: String, in allowed: [String]) -> String? {
        let scored = allowed.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, key.count / 3) else { return nil }
        return best
    }

    /// Edit distance where swapping two neighbours (`timeuot` → `timeout`) counts as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

/// Reads a file of closed dates for `closed_days` (dependency of the parser, which does no I/O).
public typealias ClosedDayFileReader = (String) -> Result<Set<JapaneseHolidays.Day>, ClosedDayFileError>

public enum ClosedDayFileError: Error {
    /// The file cannot be read: path tried and why.
    case unreadable(String, String)
    /// A line of the file is not a date.
    case invalid(String, ClosedDays.FileProblem)
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
