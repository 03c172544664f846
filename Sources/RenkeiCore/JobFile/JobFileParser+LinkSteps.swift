import Yams

/// The built-in steps' keys: `receive:` and `deliver:`.
extension JobFileParser {
    static let receiveKeys = ["from", "file", "complete_when", "done_file", "stable_for", "wait_until", "take", "on_duplicate"]
    static let deliverKeys = ["file", "to", "as", "if_exists", "generations", "done_file", "mode"]
    /// Used when `complete_when: stable` gives no `stable_for`.
    static let defaultStableFor = JobDuration(seconds: 10)

    mutating func readReceive(_ node: Node, known: Set<String>) -> LinkStep? {
        guard case .mapping(let mapping) = node else {
            report(node, "'receive' must be a mapping such as { from: /srv/juki/outbox, file: \"IDO_{date:%Y%m%d}.csv\", complete_when: stable }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.receiveKeys, what: "receive")
        let from = required(fields, "from", in: node, verb: "receive", example: "the source directory, such as /srv/juki/outbox").flatMap {
            readLinkPath($0, key: "receive.from", known: known, wildcards: false)
        }
        let file = required(fields, "file", in: node, verb: "receive", example: "the file's name, such as \"IDO_{date:%Y%m%d}.csv\"").flatMap {
            readLinkPath($0, key: "receive.file", known: known, wildcards: true, nameOnly: true)
        }
        let doneFile = fields["done_file"].flatMap { readLinkPath($0, key: "receive.done_file", known: known, wildcards: true, nameOnly: true) }
        let completeWhen = readCompletion(fields, in: node, prefix: "receive", doneFile: doneFile)
        let waitUntil = fields["wait_until"].flatMap { readWaitLimit($0) }
        let take = fields["take"].flatMap { readChoice($0, key: "receive.take", as: LinkStep.Take.self) } ?? .copy
        let onDuplicate = fields["on_duplicate"].flatMap { readChoice($0, key: "receive.on_duplicate", as: LinkStep.OnDuplicate.self) } ?? .fail
        guard let from, let file, let completeWhen else { return nil }
        return .receive(.init(from: from, file: file, completeWhen: completeWhen, waitUntil: waitUntil, take: take, onDuplicate: onDuplicate))
    }

    mutating func readDeliver(_ node: Node, known: Set<String>) -> LinkStep? {
        guard case .mapping(let mapping) = node else {
            report(node, "'deliver' must be a mapping such as { file: out/IDO.csv, to: /srv/fukushi/inbox, as: \"IDO_{date:%Y%m%d}.csv\" }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.deliverKeys, what: "deliver")
        let file = required(fields, "file", in: node, verb: "deliver", example: "the file to hand over, such as out/IDO.csv").flatMap {
            readLinkPath($0, key: "deliver.file", known: known, wildcards: false)
        }
        let to = required(fields, "to", in: node, verb: "deliver", example: "the target directory, such as /srv/fukushi/inbox").flatMap {
            readLinkPath($0, key: "deliver.to", known: known, wildcards: false)
        }
        let name = fields["as"].flatMap { readLinkPath($0, key: "deliver.as", known: known, wildcards: false, nameOnly: true) }
        let ifExists = fields["if_exists"].flatMap { readChoice($0, key: "deliver.if_exists", as: LinkStep.IfExists.self) } ?? .fail
        var generations = LinkStep.Deliver.defaultGenerations
        if let node = fields["generations"], let value = readInt(node, key: "deliver.generations") {
            if ifExists != .keep {
                report(node, "'generations' goes with 'if_exists: keep' (how many earlier versions NAME.1 … NAME.N are kept)")
            } else if !(1...99).contains(value) {
                report(node, "'deliver.generations' is \(value): keep from 1 to 99 earlier versions")
            } else {
                generations = value
            }
        }
        let doneFile = fields["done_file"].flatMap { readLinkPath($0, key: "deliver.done_file", known: known, wildcards: false, nameOnly: true) }
        var mode = LinkStep.Deliver.defaultMode
        if let node = fields["mode"], let value = readMode(node) { mode = value }
        guard let file, let to else { return nil }
        return .deliver(.init(file: file, to: to, name: name, ifExists: ifExists, generations: generations, doneFile: doneFile, mode: mode))
    }

    /// `complete_when`, `done_file` and `stable_for`, as `receive:` and `trigger:` both write them;
    /// `doneFile` is the `done_file` value the caller has already read, nil if it was wrong or absent.
    mutating func readCompletion(_ fields: [String: Node], in node: Node, prefix: String, doneFile: String?) -> LinkStep.Completion? {
        let choice = fields["complete_when"].flatMap { readChoice($0, key: "\(prefix).complete_when", as: CompletionKey.self) }
            ?? (fields["done_file"] != nil ? .doneFile : .stable)
        switch choice {
        case .doneFile:
            if let stableNode = fields["stable_for"] {
                report(stableNode, "'stable_for' goes with 'complete_when: stable', not with done_file")
            }
            if let doneFile { return .doneFile(doneFile) }
            if fields["done_file"] == nil {
                report(fields["complete_when"] ?? node, "'complete_when: done_file' needs 'done_file:', the name of the file the sender writes when the data file is complete")
            }
            return nil
        case .stable:
            if let doneNode = fields["done_file"] {
                report(doneNode, "'done_file' goes with 'complete_when: done_file', not with stable")
            }
            let stableFor = fields["stable_for"].flatMap { readDuration($0, key: "\(prefix).stable_for", zeroAllowed: true) } ?? Self.defaultStableFor
            return .stable(stableFor)
        }
    }

    private enum CompletionKey: String, CaseIterable {
        case doneFile = "done_file"
        case stable
    }

    /// `fields[key]`, or a problem at the verb's mapping saying what the key is for.
    mutating func required(_ fields: [String: Node], _ key: String, in node: Node, verb: String, example: String) -> Node? {
        if let value = fields[key] { return value }
        report(node, "'\(verb)' needs '\(key):', \(example)")
        return nil
    }

    /// A path or name that may use `${VAR}`, `{date:…}`, `{time:…}` and, where allowed, `*` and `?`.
    mutating func readLinkPath(_ node: Node, key: String, known: Set<String>, wildcards: Bool, nameOnly: Bool = false) -> String? {
        guard let value = readNonEmptyString(node, key: key), case .scalar(let scalar) = node else { return nil }
        checkReferences(in: scalar, known: known, what: "'\(key)'")
        let quoteWidth = scalar.style == .singleQuoted || scalar.style == .doubleQuoted ? 1 : 0
        do {
            _ = try FilePattern(value, wildcards: wildcards)
        } catch {
            report(line: scalar.mark?.line ?? 0, column: (scalar.mark?.column ?? 0) + quoteWidth + error.offset, "in '\(key)': \(error.message)")
            return nil
        }
        if nameOnly && value.contains("/") {
            report(node, "'\(key)' is a file name, not a path: put the directory in '\(key.hasPrefix("receive") ? "receive.from" : "deliver.to")'")
            return nil
        }
        return value
    }

    /// `wait_until: "07:00"` (local time on the slot's day) or `wait_until: 2h` (after the step starts).
    private mutating func readWaitLimit(_ node: Node) -> LinkStep.WaitLimit? {
        guard case .scalar(let scalar) = node else {
            report(node, "'receive.wait_until' must be a local time such as \"07:00\" or a duration such as 2h, found \(kind(of: node))")
            return nil
        }
        if scalar.string.contains(":") {
            return readTimeOfDay(node, key: "receive.wait_until").map { .at($0) }
        }
        return readDuration(node, key: "receive.wait_until", zeroAllowed: true).map { .after($0) }
    }

    /// `mode: "0640"`: octal permission bits, never writable by others.
    private mutating func readMode(_ node: Node) -> UInt32? {
        guard case .scalar(let scalar) = node else {
            report(node, "'deliver.mode' must be octal permission bits such as \"0640\", found \(kind(of: node))")
            return nil
        }
        let text = scalar.string
        guard (3...4).contains(text.count), text.allSatisfy({ ("0"..."7").contains($0) }), let value = UInt32(text, radix: 8), value <= 0o777 else {
            report(node, "'deliver.mode' is '\(text)': write octal permission bits such as \"0640\" (no setuid, setgid or sticky bits)")
            return nil
        }
        if value & 0o002 != 0 {
            report(node, "'deliver.mode' \(text) lets every user of the target machine change the delivered file: drop the last digit's write bit (such as \"0640\" or \"0664\")")
            return nil
        }
        return value
    }
}
