import Yams

/// The data-contract steps' keys: `check:` and `convert:`.
extension JobFileParser {
    static let checkKeys = ["file", "encoding", "newline", "format", "header", "columns", "record_length", "count", "sum", "characters"]
    static let declaredKeys = ["trailer", "control_file"]
    static let sumKeys = ["column", "trailer", "control_file"]
    static let convertKeys = ["file", "to", "from", "to_encoding", "newline", "unmappable", "substitutions"]

    mutating func readCheck(_ node: Node, known: Set<String>) -> LinkStep? {
        guard case .mapping(let mapping) = node else {
            report(node, "'check' must be a mapping such as { file: in/IDO.csv, encoding: cp932, format: csv, columns: 4 }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.checkKeys, what: "check")
        let file = required(fields, "file", in: node, verb: "check", example: "the file to check, such as in/IDO_{date:%Y%m%d}.csv").flatMap {
            readLinkPath($0, key: "check.file", known: known, wildcards: false)
        }
        let encoding = required(fields, "encoding", in: node, verb: "check", example: "the file's encoding: " + Self.choices(LinkStep.Encoding.self)).flatMap {
            readChoice($0, key: "check.encoding", as: LinkStep.Encoding.self)
        }
        let newline = fields["newline"].flatMap { readChoice($0, key: "check.newline", as: LinkStep.Newline.self) } ?? .any
        let format = fields["format"].flatMap { readChoice($0, key: "check.format", as: LinkStep.Format.self) } ?? .csv
        var header: [String]?
        if let node = fields["header"] { header = readTextList(node, key: "check.header") }
        var columns: Int?
        if let node = fields["columns"] { columns = readPositive(node, key: "check.columns", limit: 10_000) }
        var recordLength: Int?
        if let node = fields["record_length"] { recordLength = readPositive(node, key: "check.record_length", limit: 1_048_576) }
        switch format {
        case .csv:
            if let node = fields["record_length"] { report(node, "'record_length' goes with 'format: fixed', not with csv") }
            if newline == .none, let node = fields["newline"] { report(node, "'newline: none' is for fixed-length records; csv records end with crlf or lf") }
            if let header, let columns, header.count != columns, let node = fields["columns"] {
                report(node, "'check.columns' is \(columns) but 'header' names \(header.count) fields")
            }
        case .fixed:
            for key in ["header", "columns"] where fields[key] != nil {
                report(fields[key]!, "'\(key)' goes with 'format: csv'; fixed-length records have 'record_length'")
            }
            if fields["record_length"] == nil {
                report(node, "'format: fixed' needs 'record_length:', the bytes of one record in the file's encoding (120 for Zengin)")
            }
        }
        let count = fields["count"].flatMap { readDeclared($0, key: "check.count", allowed: Self.declaredKeys, known: known) }
        var sum: LinkStep.Sum?
        if let node = fields["sum"] {
            sum = readSum(node, known: known)
            if format == .fixed { report(node, "'sum' adds up a csv column; fixed-length records have no columns to add") }
        }
        let characters = fields["characters"].flatMap { readChoice($0, key: "check.characters", as: LinkStep.CharacterRepertoire.self) }
        guard let file, let encoding else { return nil }
        return .check(.init(file: file, encoding: encoding, newline: newline, format: format, header: header, columns: columns,
                            recordLength: recordLength, count: count, sum: sum, characters: characters))
    }

    mutating func readConvert(_ node: Node, known: Set<String>) -> LinkStep? {
        guard case .mapping(let mapping) = node else {
            report(node, "'convert' must be a mapping such as { file: in/IDO.csv, to: out/IDO.csv, from: cp932, to_encoding: utf-8 }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.convertKeys, what: "convert")
        let file = required(fields, "file", in: node, verb: "convert", example: "the file to convert, such as in/IDO.csv").flatMap {
            readLinkPath($0, key: "convert.file", known: known, wildcards: false)
        }
        let to = required(fields, "to", in: node, verb: "convert", example: "where the converted file goes, such as out/IDO.csv").flatMap {
            readLinkPath($0, key: "convert.to", known: known, wildcards: false)
        }
        let from = required(fields, "from", in: node, verb: "convert", example: "the file's encoding: " + Self.choices(LinkStep.Encoding.self)).flatMap {
            readChoice($0, key: "convert.from", as: LinkStep.Encoding.self)
        }
        let toEncoding = required(fields, "to_encoding", in: node, verb: "convert", example: "the encoding to write: " + Self.choices(LinkStep.Encoding.self)).flatMap {
            readChoice($0, key: "convert.to_encoding", as: LinkStep.Encoding.self)
        }
        let newline = fields["newline"].flatMap { readChoice($0, key: "convert.newline", as: LinkStep.NewlineConversion.self) } ?? .keep
        let unmappable = fields["unmappable"].flatMap { readChoice($0, key: "convert.unmappable", as: LinkStep.Unmappable.self) } ?? .fail
        var substitutions: [UInt32: String] = [:]
        var substitutionsFile: String?
        if let node = fields["substitutions"] {
            if unmappable != .substitute {
                report(node, "'substitutions' goes with 'unmappable: substitute'")
            } else if let name = readNonEmptyString(node, key: "convert.substitutions") {
                substitutionsFile = name
                substitutions = readSubstitutions(name, at: node)
            }
        }
        guard let file, let to, let from, let toEncoding else { return nil }
        return .convert(.init(file: file, to: to, from: from, toEncoding: toEncoding, newline: newline, unmappable: unmappable,
                              substitutions: substitutions, substitutionsFile: substitutionsFile))
    }

    private static func choices<Choice: RawRepresentable & CaseIterable>(_: Choice.Type) -> String where Choice.RawValue == String {
        Choice.allCases.map(\.rawValue).joined(separator: " | ")
    }

    private mutating func readPositive(_ node: Node, key: String, limit: Int) -> Int? {
        guard let value = readInt(node, key: key) else { return nil }
        guard (1...limit).contains(value) else {
            report(node, "'\(key)' is \(value): give a number from 1 to \(limit)")
            return nil
        }
        return value
    }

    private mutating func readTextList(_ node: Node, key: String) -> [String]? {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            report(node, "'\(key)' must be a list of the expected field names, such as [異動日, 住民番号, 氏名], found \(kind(of: node))")
            return nil
        }
        var fields: [String] = []
        for element in sequence {
            guard case .scalar(let scalar) = element else {
                report(element, "each field name in '\(key)' must be text, found \(kind(of: element))")
                return nil
            }
            fields.append(scalar.string)
        }
        return fields
    }

    /// `{ trailer: "^TRAILER,(\\d+)$" }` or `{ control_file: in/IDO.ctl }`.
    private mutating func readDeclared(_ node: Node, key: String, allowed: [String], known: Set<String>) -> LinkStep.Declared? {
        guard case .mapping(let mapping) = node else {
            report(node, "'\(key)' must be a mapping: { trailer: \"^TRAILER,(\\\\d+)$\" } or { control_file: in/IDO.ctl }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: allowed, what: key)
        return declared(fields, in: node, key: key, known: known)
    }

    private mutating func declared(_ fields: [String: Node], in node: Node, key: String, known: Set<String>) -> LinkStep.Declared? {
        switch (fields["trailer"], fields["control_file"]) {
        case (let trailer?, nil):
            return readTrailerPattern(trailer, key: key + ".trailer").map { .trailer($0) }
        case (nil, let control?):
            return readLinkPath(control, key: key + ".control_file", known: known, wildcards: false).map { .controlFile($0) }
        case (_?, let second?):
            report(second, "'\(key)' takes 'trailer' or 'control_file', not both")
            return nil
        case (nil, nil):
            report(node, "'\(key)' needs 'trailer:' (a pattern for the last record) or 'control_file:' (a file whose first number is the figure)")
            return nil
        }
    }

    private mutating func readSum(_ node: Node, known: Set<String>) -> LinkStep.Sum? {
        guard case .mapping(let mapping) = node else {
            report(node, "'check.sum' must be a mapping such as { column: 5, trailer: \"^TRAILER,\\\\d+,(\\\\d+)$\" }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.sumKeys, what: "check.sum")
        var column: Int?
        if let node = fields["column"] { column = readPositive(node, key: "check.sum.column", limit: 10_000) } else {
            report(node, "'check.sum' needs 'column:', the 1-based column whose values are added up")
        }
        let declared = declared(fields, in: node, key: "check.sum", known: known)
        guard let column, let declared else { return nil }
        return LinkStep.Sum(column: column, declared: declared)
    }

    /// A regular expression with a group capturing the declared figure.
    private mutating func readTrailerPattern(_ node: Node, key: String) -> String? {
        guard let pattern = readNonEmptyString(node, key: key) else { return nil }
        do {
            _ = try Regex(pattern)
        } catch {
            report(node, "'\(key)' is not a regular expression: \(error)")
            return nil
        }
        guard Self.capturingGroups(in: pattern) >= 1 else {
            report(node, "'\(key)' needs a group that captures the figure, such as \"^TRAILER,(\\\\d+)$\"")
            return nil
        }
        return pattern
    }

    /// Opening parentheses that start a capturing group (not escaped, not `(?:`, not in a class).
    static func capturingGroups(in pattern: String) -> Int {
        var groups = 0, escaped = false, inClass = false
        let characters = Array(pattern)
        for (index, character) in characters.enumerated() {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "[": inClass = true
            case "]": inClass = false
            case "(" where !inClass:
                let next = index + 1 < characters.count ? characters[index + 1] : " "
                let after = index + 2 < characters.count ? characters[index + 2] : " "
                if next != "?" || after == "<" && index + 3 < characters.count && characters[index + 3] != "=" && characters[index + 3] != "!" { groups += 1 }
            default: break
            }
        }
        return groups
    }

    /// The substitution table named by `convert.substitutions`: `U+20BB7<TAB>吉` per line.
    private mutating func readSubstitutions(_ name: String, at node: Node) -> [UInt32: String] {
        switch readCompanionFile(name) {
        case .failure(let error) where error.refused:
            report(node, error.reason)
            return [:]
        case .failure(let error):
            report(node, "cannot read the substitution table '\(name)': \(error.reason)")
            return [:]
        case .success(let (path, text)):
            switch SubstitutionTable.parse(text) {
            case .success(let table):
                return table
            case .failure(let problem):
                problems.append(JobFileProblem(file: path, line: problem.line, column: problem.column, message: problem.message))
                return [:]
            }
        }
    }
}
