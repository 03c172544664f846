import Yams

/// The job file's nested parts: retry, deadline, environment, steps, closed days, schedule.
extension JobFileParser {
    /// `key`: where it is (`retry` of a job, `notify.retry` of renkei.yaml), for the messages.
    mutating func readRetry(_ node: Node, key: String = "retry") -> RetryPolicy? {
        guard case .mapping(let mapping) = node else {
            report(node, "'\(key)' must be a mapping such as { limit: 3, delay: 1m, backoff: 2, max_delay: 15m }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.retryKeys, what: key)
        var limit: Int?
        if let node = fields["limit"] {
            limit = readInt(node, key: "\(key).limit")
            if let value = limit, !(0...100).contains(value) {
                report(node, "'\(key).limit' is \(value): give the number of retries after the first failure, 0 to 100")
                limit = nil
            }
        } else {
            report(node, "'\(key)' needs 'limit:', the number of retries after the first failure")
        }
        let delay = fields["delay"].flatMap { readDuration($0, key: "\(key).delay", zeroAllowed: true) } ?? JobDuration(seconds: 60)
        var backoff = 1.0
        if let node = fields["backoff"], let value = readNumber(node, key: "\(key).backoff") {
            if value < 1 || value > 100 {
                report(node, "'\(key).backoff' is \(value): each wait is the previous one times this, so give a number from 1 to 100")
            } else {
                backoff = value
            }
        }
        let maxDelay = fields["max_delay"].flatMap { readDuration($0, key: "\(key).max_delay", zeroAllowed: false) }
        if let maxDelay, maxDelay < delay, let node = fields["max_delay"] {
            report(node, "'\(key).max_delay' (\(maxDelay)) is shorter than '\(key).delay' (\(delay))")
        }
        guard let limit else { return nil }
        return RetryPolicy(limit: limit, delay: delay, backoff: backoff, maxDelay: maxDelay)
    }

    mutating func readDeadline(_ node: Node) -> Deadline? {
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

    mutating func readEnvironment(_ node: Node) -> [String: String] {
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

    mutating func readSteps(_ node: Node, environment: [String: String]) -> [Step] {
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

    mutating func readStep(_ node: Node, known: Set<String>) -> Step? {
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
        let kinds = Self.stepKinds.filter { fields[$0] != nil }
        if kinds.count > 1, let second = fields[kinds[1]] {
            report(second, "step '\(name ?? "?")' has both '\(kinds[0]):' and '\(kinds[1]):': a step does exactly one thing, so split it into two steps")
        } else if let runNode = fields["run"] {
            command = readCommand(runNode, shell: shell, shellNode: fields["shell"], known: known)
        } else if let receiveNode = fields["receive"] {
            command = readReceive(receiveNode, known: known).map { .link($0) }
        } else if let deliverNode = fields["deliver"] {
            command = readDeliver(deliverNode, known: known).map { .link($0) }
        } else if let checkNode = fields["check"] {
            command = readCheck(checkNode, known: known).map { .link($0) }
        } else if let convertNode = fields["convert"] {
            command = readConvert(convertNode, known: known).map { .link($0) }
        } else {
            report(node, "step '\(name ?? "?")' needs one of 'run:' (a command, such as [\"/usr/bin/env\", \"true\"]), 'receive:', 'deliver:', 'check:' or 'convert:'")
        }
        if let shellNode = fields["shell"], fields["run"] == nil, !kinds.isEmpty {
            report(shellNode, "'shell' goes with 'run:', not with '\(kinds[0]):'")
        }
        guard let name, let command else { return nil }
        return Step(name: name, command: command, timeout: timeout)
    }

    mutating func readCommand(_ node: Node, shell: Bool, shellNode: Node?, known: Set<String>) -> Command? {
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

    mutating func readClosedDays(_ node: Node) -> ([String], ClosedDays) {
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
            case .failure(.refused(_, let refusal)):
                report(element, refusal)
            case .failure(.invalid(let path, let problem)):
                problems.append(JobFileProblem(file: path, line: problem.line, column: problem.column, message: problem.message))
            }
        }
        return (names, calendar)
    }

    mutating func readSchedule(_ node: Node, text: String) -> Schedule? {
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

    mutating func readTimeZone(_ node: Node) -> String? {
        guard let value = readNonEmptyString(node, key: "timezone") else { return nil }
        guard TimeZoneCatalog.isKnown(value) else {
            report(node, "unknown time zone '\(value)': use an IANA name from the tz database, such as Asia/Tokyo or UTC")
            return nil
        }
        return value
    }

}
