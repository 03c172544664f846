import Yams

/// Reading single values with their positions, and reporting problems.
extension JobFileParser {
    /// The mapping's values by key, after reporting keys that are not text or not allowed.
    mutating func readMapping(_ mapping: Node.Mapping, allowed: [String], what: String) -> [String: Node] {
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

    mutating func readString(_ node: Node, key: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(node, "'\(key)' must be text, found \(kind(of: node))")
            return nil
        }
        return scalar.string
    }

    mutating func readNonEmptyString(_ node: Node, key: String) -> String? {
        guard let value = readString(node, key: key) else { return nil }
        if value.trimmingASCIIWhitespace().isEmpty {
            report(node, "'\(key)' is empty")
            return nil
        }
        return value
    }

    mutating func readBool(_ node: Node, key: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.string {
            case "true": return true
            case "false": return false
            default: break
            }
        }
        report(node, "'\(key)' must be true or false, found \(kind(of: node))")
        return nil
    }

    mutating func readInt(_ node: Node, key: String) -> Int? {
        if case .scalar(let scalar) = node, scalar.style == .plain, let value = Int(scalar.string) { return value }
        report(node, "'\(key)' must be a whole number, found \(kind(of: node))")
        return nil
    }

    mutating func readNumber(_ node: Node, key: String) -> Double? {
        if case .scalar(let scalar) = node, scalar.style == .plain, let value = Double(scalar.string), value.isFinite { return value }
        report(node, "'\(key)' must be a number, found \(kind(of: node))")
        return nil
    }

    mutating func readDuration(_ node: Node, key: String, zeroAllowed: Bool) -> JobDuration? {
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

    mutating func readTimeOfDay(_ node: Node, key: String) -> TimeOfDay? {
        guard case .scalar(let scalar) = node, let time = TimeOfDay(scalar.string) else {
            report(node, "'\(key)' must be a local time \"HH:MM\" such as \"07:00\" (quote it), found \(kind(of: node))")
            return nil
        }
        return time
    }

    mutating func readChoice<Choice: RawRepresentable & CaseIterable>(_ node: Node, key: String, as: Choice.Type) -> Choice? where Choice.RawValue == String {
        if case .scalar(let scalar) = node, let choice = Choice(rawValue: scalar.string) { return choice }
        let choices = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        report(node, "'\(key)' must be one of \(choices), found \(kind(of: node))")
        return nil
    }

    /// Reports `${NAME}` references in `scalar` that no variable defines.
    mutating func checkReferences(in scalar: Node.Scalar, known: Set<String>, what: String) {
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

    mutating func report(_ node: Node, _ message: String) {
        report(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message)
    }

    mutating func report(line: Int, column: Int, _ message: String) {
        problems.append(JobFileProblem(file: file, line: line, column: column, message: message))
    }

    func scalarText(_ node: Node) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar) where isNull(scalar): "nothing (an empty value)"
        case .scalar(let scalar): "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }


    /// `key:` with nothing after it, or `~` / `null`: YAML's null, which is never a useful value here.
    func isNull(_ scalar: Node.Scalar) -> Bool {
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
