import Yams

/// What starts a job besides its schedule: `after:` (its upstream jobs) and `trigger:` (files
/// arriving). Which names in `after:` exist, and whether they loop, is known only once every job
/// is loaded: `Dependencies` checks that, at the positions kept here.
extension JobFileParser {
    static let triggerKeys = ["path", "file", "date_from_name", "complete_when", "done_file", "stable_for"]

    /// `after: [juki-export, kokuho-shikaku-copy]`, or one name as a plain string.
    mutating func readAfter(_ node: Node) -> (names: [JobName], positions: [JobName: SourcePosition]) {
        let elements: [Node]
        switch node {
        case .scalar(let scalar) where !isNull(scalar): elements = [node]
        case .sequence(let sequence) where !sequence.isEmpty: elements = Array(sequence)
        case .scalar, .sequence:
            report(node, "'after' is empty: name the jobs this one waits for, such as [juki-export], or leave the key out")
            return ([], [:])
        default:
            report(node, "'after' must be a list of job names such as [juki-export, kokuho-shikaku-copy], found \(kind(of: node))")
            return ([], [:])
        }
        var names: [JobName] = []
        var positions: [JobName: SourcePosition] = [:]
        for element in elements {
            guard case .scalar(let scalar) = element, !isNull(scalar) else {
                report(element, "each element of 'after' must be a job name, found \(kind(of: element))")
                continue
            }
            let text = scalar.string
            if text.hasSuffix(".yaml"), JobName.isValid(String(text.dropLast(5))) {
                report(element, "'\(text)' in 'after' is a file name: name the job, \(text.dropLast(5))")
                continue
            }
            guard let name = JobName(text) else {
                report(element, "'\(text)' in 'after' is not a job name: \(JobName.rule) (the job file's name without .yaml)")
                continue
            }
            let position = SourcePosition(line: element.mark?.line ?? 0, column: element.mark?.column ?? 0)
            if let first = positions[name] {
                report(element, "duplicate '\(name)' in 'after' (first at line \(first.line), column \(first.column)): name each upstream once")
                continue
            }
            names.append(name)
            positions[name] = position
        }
        return (names, positions)
    }

    /// `trigger: { path: /srv/kokuho/outbox, file: "shikaku_*.csv", date_from_name: …, complete_when: … }`.
    mutating func readTrigger(_ node: Node) -> (trigger: FileTrigger, pathPosition: SourcePosition)? {
        guard case .mapping(let mapping) = node else {
            report(node, "'trigger' must be a mapping such as { path: /srv/kokuho/outbox, file: \"shikaku_*.csv\" }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.triggerKeys, what: "trigger")
        let pathNode = required(fields, "path", in: node, verb: "trigger", example: "the directory watched, such as /srv/kokuho/outbox")
        let path = pathNode.flatMap { readTriggerDirectory($0) }
        let file = required(fields, "file", in: node, verb: "trigger", example: "which names start the job, such as \"shikaku_*.csv\"").flatMap {
            readTriggerFile($0)
        }
        var dateFromName: String?
        if let dateNode = fields["date_from_name"], let pattern = readTriggerName(dateNode, key: "trigger.date_from_name", wildcards: true) {
            dateFromName = checkDateFromName(pattern, at: dateNode, file: file)
        }
        let doneFile = fields["done_file"].flatMap { doneNode in
            readTriggerName(doneNode, key: "trigger.done_file", wildcards: true).flatMap { pattern -> String? in
                guard !pattern.hasTimePlaceholder else {
                    report(doneNode, "'trigger.done_file' can use {date:…} (the file's logical date), not {time:…}: a file's name gives no time")
                    return nil
                }
                return pattern.text
            }
        }
        let completeWhen = readCompletion(fields, in: node, prefix: "trigger", doneFile: doneFile)
        guard let path, let file, let completeWhen, let pathNode,
              fields["date_from_name"] == nil || dateFromName != nil else { return nil }
        return (FileTrigger(path: path, file: file, dateFromName: dateFromName, completeWhen: completeWhen),
                SourcePosition(line: pathNode.mark?.line ?? 0, column: pathNode.mark?.column ?? 0))
    }

    /// `trigger.path`: one absolute directory, written out.
    private mutating func readTriggerDirectory(_ node: Node) -> String? {
        guard let value = readNonEmptyString(node, key: "trigger.path") else { return nil }
        if value.contains("$") || value.contains("{") {
            report(node, "'trigger.path' cannot use ${VAR}, {date:…} or {time:…}: it is watched before any run exists, so write the directory itself, such as /srv/kokuho/outbox")
            return nil
        }
        if FilePattern.hasWildcards(value) {
            report(node, "'trigger.path' is one directory, not a glob: put wildcards in 'trigger.file'")
            return nil
        }
        guard value.hasPrefix("/") else {
            report(node, "'trigger.path' is '\(value)': give the directory as an absolute path, such as /srv/kokuho/outbox (it is watched before any run exists, so there is no work directory to be relative to)")
            return nil
        }
        return value
    }

    /// `trigger.file`: a glob; the date is not known before a file arrives, so no `{date:…}`.
    private mutating func readTriggerFile(_ node: Node) -> String? {
        guard let pattern = readTriggerName(node, key: "trigger.file", wildcards: true) else { return nil }
        guard pattern.parts.allSatisfy({ if case .literal = $0 { true } else { false } }) else {
            report(node, "'trigger.file' is a glob such as \"shikaku_*.csv\": the date is not known until a file arrives, so put '*' where it goes (and read it with 'date_from_name')")
            return nil
        }
        return pattern.text
    }

    /// A file name of `trigger:`, as a `FilePattern`: no `${VAR}` (there is no run yet), no `/`.
    private mutating func readTriggerName(_ node: Node, key: String, wildcards: Bool) -> FilePattern? {
        guard let value = readNonEmptyString(node, key: key), case .scalar(let scalar) = node else { return nil }
        if value.contains("${") {
            report(node, "'\(key)' cannot use ${VAR}: it is matched before any run exists, so there are no variables yet")
            return nil
        }
        let pattern: FilePattern
        do {
            pattern = try FilePattern(value, wildcards: wildcards)
        } catch {
            let quoteWidth = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
            report(line: scalar.mark?.line ?? 0, column: (scalar.mark?.column ?? 0) + quoteWidth + error.offset, "in '\(key)': \(error.message)")
            return nil
        }
        if value.contains("/") {
            report(node, "'\(key)' is a file name, not a path: put the directory in 'trigger.path'")
            return nil
        }
        return pattern
    }

    /// `date_from_name` must say where one whole date is, and every name it describes must be one
    /// that `file` lets start the job.
    private mutating func checkDateFromName(_ pattern: FilePattern, at node: Node, file: String?) -> String? {
        let key = "trigger.date_from_name"
        if pattern.hasTimePlaceholder {
            report(node, "'\(key)' reads a date: use {date:…}, not {time:…}")
            return nil
        }
        let placeholders = pattern.parts.filter { if case .date = $0 { true } else { false } }.count
        guard placeholders == 1 else {
            report(node, placeholders == 0
                ? "'\(key)' needs a {date:…} field saying where the date is in the name, such as \"shikaku_{date:%Y%m%d}.csv\""
                : "'\(key)' has \(placeholders) {date:…} fields: write the date in one, such as {date:%Y%m%d}")
            return nil
        }
        guard FilePattern.namesWholeDate(pattern.dateFields) else {
            report(node, "'\(key)' does not hold a whole date: its {date:…} needs the year (%Y or %y) and the month and day (%m and %d) or the day of the year (%j)")
            return nil
        }
        if let file {
            let example = pattern.exampleName(for: JapaneseHolidays.Day(year: 2026, month: 12, day: 1))
            if !Glob.matches(file, example) {
                report(node, "'\(key)' does not fit 'trigger.file': a name such as '\(example)' would not match \"\(file)\", so no file that starts the job has its date there")
                return nil
            }
        }
        return pattern.text
    }
}
