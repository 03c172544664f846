/// `${VAR}` in a step's `run` and in `environment` values. Only the braced form expands, and only
/// from the run's own environment, so a job file never depends on what happened to be exported in
/// the shell that started the daemon. `$$` is a literal `$`; any other `$` is left as it is.
public enum VariableExpansion {
    /// One `${NAME}` in a text; `offset` counts Unicode scalars from the start (for a column).
    public struct Reference: Equatable, Sendable {
        public let name: String
        public let offset: Int
    }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case unterminated(offset: Int)
        case invalidName(String, offset: Int)
        case undefined(String, offset: Int)

        public var offset: Int {
            switch self {
            case .unterminated(let offset), .invalidName(_, let offset), .undefined(_, let offset): offset
            }
        }

        public var description: String {
            switch self {
            case .unterminated:
                return "'${' is not closed with '}' (write $$ for a literal $)"
            case .invalidName(let name, _):
                return "'${\(name)}' is not a variable name: use letters, digits and '_', not starting with a digit"
            case .undefined(let name, _):
                return "undefined variable ${\(name)}: define it under 'environment:' (only the run's environment is expanded, never the daemon's)"
            }
        }
    }

    /// Every `${NAME}` in `text`, or the first syntax problem.
    public static func references(in text: String) throws(Problem) -> [Reference] {
        var found: [Reference] = []
        _ = try walk(text) { (name, offset) throws(Problem) in
            found.append(Reference(name: name, offset: offset))
            return ""
        }
        return found
    }

    /// `text` with each `${NAME}` replaced from `environment`; a name it lacks is a problem.
    public static func expand(_ text: String, from environment: [String: String]) throws(Problem) -> String {
        try walk(text) { (name, offset) throws(Problem) in
            guard let value = environment[name] else { throw .undefined(name, offset: offset) }
            return value
        }
    }

    private static func walk(_ text: String, replacing: (String, Int) throws(Problem) -> String) throws(Problem) -> String {
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard scalar == "$", index + 1 < scalars.count else {
                output.append(scalar)
                index += 1
                continue
            }
            let next = scalars[index + 1]
            if next == "$" {
                output.append("$")
                index += 2
            } else if next == "{" {
                guard let close = scalars[(index + 2)...].firstIndex(of: "}") else { throw .unterminated(offset: index) }
                let name = String(String.UnicodeScalarView(scalars[(index + 2)..<close]))
                guard isVariableName(name) else { throw .invalidName(name, offset: index) }
                output.append(contentsOf: try replacing(name, index).unicodeScalars)
                index = close + 1
            } else {
                output.append(scalar)
                index += 1
            }
        }
        return String(output)
    }

    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }
}
