/// `${VAR}` in a step's `run` and in `environment` values. Only the braced form expands, and only
/// from the run's own environment, so a job file never depends on what happened to be exported in
/// the shell that started the daemon. `$$` is a literal `$`; any other `$` is left as it is.
///
/// `${credential:NAME}` is a systemd credential (`LoadCredential=NAME:…` in renkeid's unit): the
/// file `$CREDENTIALS_DIRECTORY/NAME`, read when the step starts. The core does no I/O, so the
/// caller passes what reads it (`CredentialReader`); its value is a secret wherever it is shown.
public enum VariableExpansion {
    /// The prefix that makes `${credential:NAME}` a credential rather than a variable.
    public static let credentialPrefix = "credential:"

    /// Reads the credential `NAME`: its value, or why it cannot be had (for the operator).
    public typealias CredentialReader = (String) -> Result<String, CredentialUnavailable>

    /// Why a credential cannot be read, written for the operator who must fix the unit.
    public struct CredentialUnavailable: Error, Equatable, Sendable {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    /// Where no credential can be read (a link step's text, a check without a run).
    public static func noCredentials(_ name: String) -> Result<String, CredentialUnavailable> {
        .failure(CredentialUnavailable("credentials are only read for a step's 'run' and 'environment'"))
    }

    /// One `${NAME}` in a text; `offset` counts Unicode scalars from the start (for a column).
    public struct Reference: Equatable, Sendable {
        public let name: String
        public let offset: Int
    }

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case unterminated(offset: Int)
        case invalidName(String, offset: Int)
        case undefined(String, offset: Int)
        /// `${credential:NAME}` whose file cannot be read.
        case credentialUnavailable(String, reason: String, offset: Int)
        /// A job's `environment` value reads a credential into a variable not named as a secret.
        case credentialInPlainVariable(String)

        public var offset: Int {
            switch self {
            case .unterminated(let offset), .invalidName(_, let offset), .undefined(_, let offset),
                 .credentialUnavailable(_, _, let offset): offset
            case .credentialInPlainVariable: 0
            }
        }

        public var description: String {
            switch self {
            case .unterminated:
                return "'${' is not closed with '}' (write $$ for a literal $)"
            case .invalidName(let name, _) where name.hasPrefix(credentialPrefix):
                return "'${\(name)}' is not a credential name: use letters, digits, '_', '-', '.' and '@', as in LoadCredential="
            case .invalidName(let name, _):
                return "'${\(name)}' is not a variable name: use letters, digits and '_', not starting with a digit"
            case .undefined(let name, _):
                return "undefined variable ${\(name)}: define it under 'environment:' (only the run's environment is expanded, never the daemon's)"
            case .credentialUnavailable(let name, let reason, _):
                return "cannot read credential '\(name)' for ${\(credentialPrefix)\(name)}: \(reason)"
            case .credentialInPlainVariable(let name):
                return "environment variable \(name) reads a credential, but its name does not mark it secret, so its value would be stored and shown: put PASSWORD, SECRET or TOKEN in its name (as in \(name)_TOKEN)"
            }
        }
    }

    /// Every `${NAME}` in `text`, or the first syntax problem. Credentials are not variables (they
    /// are read when the step starts), so they are checked for syntax only and not listed.
    public static func references(in text: String) throws(Problem) -> [Reference] {
        var found: [Reference] = []
        _ = try walk(text) { (name, isCredential, offset) throws(Problem) in
            if !isCredential { found.append(Reference(name: name, offset: offset)) }
            return ""
        }
        return found
    }

    /// `text` with each `${NAME}` replaced from `environment`; a name it lacks is a problem.
    /// `${credential:NAME}` is replaced by what `credentials` reads.
    public static func expand(_ text: String, from environment: [String: String],
                              credentials: CredentialReader = noCredentials) throws(Problem) -> String {
        try walk(text) { (name, isCredential, offset) throws(Problem) in
            if isCredential {
                switch credentials(name) {
                case .success(let value): return value
                case .failure(let unavailable): throw .credentialUnavailable(name, reason: unavailable.reason, offset: offset)
                }
            }
            guard let value = environment[name] else { throw .undefined(name, offset: offset) }
            return value
        }
    }

    /// Whether `text` reads a credential anywhere (syntax problems count as no).
    public static func readsCredential(_ text: String) -> Bool {
        var found = false
        _ = try? walk(text) { (_, isCredential, _) throws(Problem) in
            if isCredential { found = true }
            return ""
        }
        return found
    }

    private static func walk(_ text: String, replacing: (String, Bool, Int) throws(Problem) -> String) throws(Problem) -> String {
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
                if name.hasPrefix(credentialPrefix) {
                    let credential = String(name.dropFirst(credentialPrefix.count))
                    guard isCredentialName(credential) else { throw .invalidName(name, offset: index) }
                    output.append(contentsOf: try replacing(credential, true, index).unicodeScalars)
                } else {
                    guard isVariableName(name) else { throw .invalidName(name, offset: index) }
                    output.append(contentsOf: try replacing(name, false, index).unicodeScalars)
                }
                index = close + 1
            } else {
                output.append(scalar)
                index += 1
            }
        }
        return String(output)
    }

    /// A credential's name as systemd accepts it in `LoadCredential=`, and never a path: no `/`,
    /// not `.` or `..`.
    public static func isCredentialName(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != "..", name.unicodeScalars.count <= 255 else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || $0 == "-" || $0 == "." || $0 == "@" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        }
    }

    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }
}
