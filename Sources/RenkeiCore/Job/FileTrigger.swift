/// `trigger:` — the job starts when a file arrives in a directory, besides (or instead of) its
/// schedule. Values are as the job file wrote them; the parser has checked that they fit together.
public struct FileTrigger: Sendable, Equatable {
    /// The directory watched: absolute and written out (no `${VAR}`, no `{date:…}`), since it is
    /// watched before any run exists.
    public var path: String
    /// Which names start the job: a glob with `*` and `?`, no `/`.
    public var file: String
    /// Where the logical date stands in the name (`shikaku_{date:%Y%m%d}.csv`); nil: the day the
    /// file arrived, in the job's zone.
    public var dateFromName: String?
    /// How Renkei knows the sender has finished writing the file, as `receive:` does. A done
    /// file's `{date:…}` is the file's logical date.
    public var completeWhen: LinkStep.Completion

    public init(path: String, file: String, dateFromName: String? = nil, completeWhen: LinkStep.Completion) {
        self.path = path
        self.file = file
        self.dateFromName = dateFromName
        self.completeWhen = completeWhen
    }

    /// Whether a file of this name (in `path`) starts the job.
    public func matches(_ name: String) -> Bool { Glob.matches(file, name) }

    /// The logical date `name` carries per `dateFromName`; nil when there is no `dateFromName`,
    /// the name does not fit it, or the date does not exist (`shikaku_20261301.csv`).
    public func date(fromName name: String) -> JapaneseHolidays.Day? {
        guard let dateFromName, let pattern = try? FilePattern(dateFromName) else { return nil }
        return pattern.date(in: name)
    }
}

extension FilePattern {
    /// The `{date:…}` fields the pattern holds, in order (`Y`, `m`, `d`, …).
    var dateFields: [Character] {
        parts.flatMap { part -> [Character] in
            guard case .date(let items) = part else { return [] }
            return items.compactMap { if case .field(let field) = $0 { field } else { nil } }
        }
    }

    /// Whether the pattern holds a `{time:…}` placeholder.
    var hasTimePlaceholder: Bool { parts.contains { if case .time = $0 { true } else { false } } }

    /// Whether the fields name one whole date: a year, and a month and day or a day of the year.
    static func namesWholeDate(_ fields: [Character]) -> Bool {
        (fields.contains("Y") || fields.contains("y")) && ((fields.contains("m") && fields.contains("d")) || fields.contains("j"))
    }

    /// The name this pattern gives for `day`, with `*` standing for nothing and `?` for `x`: an
    /// example name to show the operator and to try against a glob.
    func exampleName(for day: JapaneseHolidays.Day) -> String {
        var name = ""
        for token in nameTokens {
            switch token {
            case .character(let character): name.append(character)
            case .anyRun: break
            case .anyOne: name.append("x")
            case .field(let field): name += Self.digits(of: field, day)
            }
        }
        return name
    }

    /// The date a name carries in this pattern's `{date:…}` fields; nil when it does not fit.
    func date(in name: String) -> JapaneseHolidays.Day? {
        var values: [Character: Int] = [:]
        guard Self.match(nameTokens[...], Array(name)[...], &values) else { return nil }
        let year = values["Y"] ?? values["y"].map { 2000 + $0 }
        guard let year else { return nil }
        if let dayOfYear = values["j"] {
            let length = CivilTime.isLeap(year) ? 366 : 365
            guard (1...length).contains(dayOfYear) else { return nil }
            return JapaneseHolidays.Day(days: CivilTime.days(year: year, month: 1, day: 1) + dayOfYear - 1)
        }
        guard let month = values["m"], let day = values["d"], (1...12).contains(month),
              (1...CivilTime.daysInMonth(year: year, month: month)).contains(day) else { return nil }
        return JapaneseHolidays.Day(year: year, month: month, day: day)
    }

    enum NameToken: Equatable {
        case character(Character)
        case anyRun
        case anyOne
        case field(Character)
    }

    /// The pattern as a name is matched against it: literal characters, wildcards, and the
    /// fixed-width digit fields of `{date:…}`.
    var nameTokens: [NameToken] {
        var tokens: [NameToken] = []
        func literal(_ text: String) {
            for character in text {
                switch character {
                case "*": tokens.append(.anyRun)
                case "?": tokens.append(.anyOne)
                default: tokens.append(.character(character))
                }
            }
        }
        for part in parts {
            switch part {
            case .literal(let text): literal(text)
            case .date(let items), .time(let items):
                for item in items {
                    switch item {
                    case .literal(let text): tokens += text.map { .character($0) }
                    case .field(let field): tokens.append(.field(field))
                    }
                }
            }
        }
        return tokens
    }

    private static func width(of field: Character) -> Int {
        switch field {
        case "Y": 4
        case "j": 3
        default: 2
        }
    }

    private static func digits(of field: Character, _ day: JapaneseHolidays.Day) -> String {
        let value = switch field {
        case "Y": day.year
        case "y": day.year % 100
        case "m": day.month
        case "d": day.day
        case "j": day.days - CivilTime.days(year: day.year, month: 1, day: 1) + 1
        default: 0
        }
        let text = String(value)
        return String(repeating: "0", count: max(0, width(of: field) - text.count)) + text
    }

    /// Backtracking match of a short name; `*` tries the shortest run first. A field seen twice
    /// must carry the same value both times.
    private static func match(_ tokens: ArraySlice<NameToken>, _ name: ArraySlice<Character>, _ values: inout [Character: Int]) -> Bool {
        guard let token = tokens.first else { return name.isEmpty }
        let rest = tokens.dropFirst()
        switch token {
        case .character(let character):
            guard name.first == character else { return false }
            return match(rest, name.dropFirst(), &values)
        case .anyOne:
            guard !name.isEmpty else { return false }
            return match(rest, name.dropFirst(), &values)
        case .anyRun:
            var tail = name
            while true {
                var attempt = values
                if match(rest, tail, &attempt) {
                    values = attempt
                    return true
                }
                guard !tail.isEmpty else { return false }
                tail = tail.dropFirst()
            }
        case .field(let field):
            let width = width(of: field)
            guard name.count >= width else { return false }
            let digits = name.prefix(width)
            guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(String(digits)) else { return false }
            if let earlier = values[field], earlier != value { return false }
            values[field] = value
            return match(rest, name.dropFirst(width), &values)
        }
    }
}
