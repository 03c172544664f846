/// A file name or path as a link step writes it: `IDO_{date:%Y%m%d}.csv`, `shikaku_*.csv`.
///
/// - `{date:FORMAT}`: the logical date in the job's zone, with strftime's `%Y %m %d %y %j`.
/// - `{time:FORMAT}`: the logical time there, with those and `%H %M %S`.
/// - `*` (any run of characters but `/`) and `?` (one character), where wildcards are allowed.
///
/// Parsing is pure and reports the column of a bad placeholder, so the job file's error points at it.
public struct FilePattern: Sendable, Equatable, CustomStringConvertible {
    /// As written.
    public let text: String
    let parts: [Part]

    enum Part: Sendable, Equatable {
        case literal(String)
        case date([FormatItem])
        case time([FormatItem])
    }

    enum FormatItem: Sendable, Equatable {
        case literal(String)
        case field(Character)
    }

    /// A placeholder that cannot be read, with its 0-based character offset in the text.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { message }
    }

    static let dateFields: Set<Character> = ["Y", "m", "d", "y", "j"]
    static let timeFields: Set<Character> = dateFields.union(["H", "M", "S"])

    public var description: String { text }

    /// Reads `text`; `wildcards: false` refuses `*` and `?` (a target name must be one name).
    public init(_ text: String, wildcards: Bool = true) throws(Problem) {
        self.text = text
        var parts: [Part] = []
        var literal = ""
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            // `${VAR}` is the run's environment, expanded after the placeholders: kept as written.
            if character == "$", index + 1 < characters.count, characters[index + 1] == "{",
               let close = characters[index...].firstIndex(of: "}") {
                literal.append(contentsOf: characters[index...close])
                index = close + 1
                continue
            }
            if character == "{" {
                guard let close = characters[index...].firstIndex(of: "}") else {
                    throw Problem(offset: index, message: "'{' opens a placeholder that is never closed: write {date:%Y%m%d} or {time:%H%M}")
                }
                let body = String(characters[(index + 1)..<close])
                if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                parts.append(try Self.placeholder(body, at: index))
                index = close + 1
                continue
            }
            if character == "}" {
                throw Problem(offset: index, message: "'}' without a '{' before it")
            }
            if !wildcards && (character == "*" || character == "?") {
                throw Problem(offset: index, message: "'\(character)' is a wildcard, but this must name exactly one file")
            }
            literal.append(character)
            index += 1
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    private static func placeholder(_ body: String, at offset: Int) throws(Problem) -> Part {
        let kind: String
        let format: Substring
        if let colon = body.firstIndex(of: ":") {
            kind = String(body[..<colon])
            format = body[body.index(after: colon)...]
        } else {
            kind = body
            format = ""
        }
        guard kind == "date" || kind == "time" else {
            throw Problem(offset: offset, message: "unknown placeholder '{\(body)}': use {date:FORMAT} or {time:FORMAT}, such as {date:%Y%m%d}")
        }
        let allowed = kind == "date" ? dateFields : timeFields
        let items = try formatItems(format.isEmpty ? (kind == "date" ? "%Y-%m-%d" : "%H%M%S") : format, allowed: allowed, kind: kind, at: offset)
        return kind == "date" ? .date(items) : .time(items)
    }

    private static func formatItems(_ format: Substring, allowed: Set<Character>, kind: String, at offset: Int) throws(Problem) -> [FormatItem] {
        var items: [FormatItem] = []
        var literal = ""
        var iterator = format.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else { literal.append(character); continue }
            guard let field = iterator.next() else {
                throw Problem(offset: offset, message: "'{\(kind):\(format)}' ends with a lone '%'")
            }
            if field == "%" { literal.append("%"); continue }
            guard allowed.contains(field) else {
                let list = allowed.sorted().map { "%\($0)" }.joined(separator: " ")
                throw Problem(offset: offset, message: "'%\(field)' in '{\(kind):\(format)}' is not supported; {\(kind):…} takes \(list)")
            }
            if !literal.isEmpty { items.append(.literal(literal)); literal = "" }
            items.append(.field(field))
        }
        if !literal.isEmpty { items.append(.literal(literal)) }
        return items
    }

    /// The text with `{date:…}` and `{time:…}` filled in for `time` (wildcards stay).
    public func filled(for time: LogicalTime) -> String {
        let zone = ZoneRules.named(time.zoneIdentifier) ?? .utc
        let local = WallClock(zone: zone).localTime(time.epochSeconds)
        var result = ""
        for part in parts {
            switch part {
            case .literal(let text): result += text
            case .date(let items), .time(let items):
                for item in items {
                    switch item {
                    case .literal(let text): result += text
                    case .field(let field): result += Self.render(field, local)
                    }
                }
            }
        }
        return result
    }

    private static func render(_ field: Character, _ local: BrokenDownTime) -> String {
        switch field {
        case "Y": pad(local.year, 4)
        case "y": pad(((local.year % 100) + 100) % 100)
        case "m": pad(local.month + 1)
        case "d": pad(local.day)
        case "j": pad(CivilTime.days(year: local.year, month: local.month + 1, day: local.day) - CivilTime.days(year: local.year, month: 1, day: 1) + 1, 3)
        case "H": pad(local.hour)
        case "M": pad(local.minute)
        default: pad(local.second)
        }
    }

    /// Whether a filled-in text still holds `*` or `?`.
    public static func hasWildcards(_ text: String) -> Bool { text.contains("*") || text.contains("?") }
}

/// Shell-style matching of one file name against a glob with `*` and `?` (no brackets, no `/`).
/// As in the shell, a hidden name (a leading `.`, such as a sender's temporary file) matches only
/// a pattern that starts with `.` itself.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        if name.hasPrefix(".") && !pattern.hasPrefix(".") { return false }
        let p = Array(pattern.unicodeScalars), n = Array(name.unicodeScalars)
        var pi = 0, ni = 0
        var star = -1, starName = 0
        while ni < n.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == n[ni]) {
                pi += 1; ni += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; starName = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; starName += 1; ni = starName
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
