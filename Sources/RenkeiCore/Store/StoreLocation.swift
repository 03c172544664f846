/// Where the run store lives, as an operator writes it after `--store` (or `RENKEI_STORE`, or
/// `store:` in the daemon's configuration):
///
///     sqlite:/var/lib/renkei/renkei.sqlite
///     postgresql:///renkei?host=/run/postgresql&user=renkei           (a Unix socket)
///     postgresql://db.example.lg.jp:5432/renkei?user=renkei&sslmode=require   (TCP, TLS only)
///
/// Reading the text is pure: no file is opened and no server is asked.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// One SQLite file (today's store, the default).
    case sqlite(path: String)
    /// A PostgreSQL database shared by several nodes.
    case postgresql(PostgresAddress)

    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgresql(let address): return address.description
        }
    }
}

/// How to reach one PostgreSQL database. No password: a Unix socket authenticates by the
/// process's user (peer), and a password in a URL ends up in `ps`, shell history and unit files.
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is carried.
    public enum Transport: Sendable, Equatable {
        /// The server's socket directory (libpq's `host=/dir`); the socket file is `DIR/.s.PGSQL.PORT`.
        case unixSocket(directory: String)
        /// Host name or address over TCP, always with TLS (`sslmode=require`).
        case tcp(host: String)
    }

    public var transport: Transport
    public var port: Int
    /// The role the node logs in as.
    public var user: String
    public var database: String

    public init(transport: Transport, port: Int = 5432, user: String, database: String) {
        self.transport = transport
        self.port = port
        self.user = user
        self.database = database
    }

    /// The socket file itself, which PostgresNIO wants (libpq wants the directory).
    public var socketFile: String? {
        guard case .unixSocket(let directory) = transport else { return nil }
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return "\(trimmed)/.s.PGSQL.\(port)"
    }

    /// The URL again, in the order an operator would write it.
    public var description: String {
        switch transport {
        case .unixSocket(let directory):
            let port = self.port == 5432 ? "" : "&port=\(self.port)"
            return "postgresql:///\(database)?host=\(directory)&user=\(user)\(port)"
        case .tcp(let host):
            return "postgresql://\(host):\(port)/\(database)?user=\(user)&sslmode=require"
        }
    }
}

/// Why a `--store` text names no store, in words for the operator who typed it.
public struct StoreLocationProblem: Error, Equatable, CustomStringConvertible {
    /// The argument or setting the text came from: `--store`, `RENKEI_STORE`, `store:`.
    public var argument: String
    /// The text as given, a password in it replaced by `(redacted)`: the message goes to the
    /// terminal, the journal and mail.
    public var text: String
    /// What is wrong and what to write instead.
    public var reason: String

    public init(argument: String, text: String, reason: String) {
        self.argument = argument
        self.text = Self.withoutPassword(text)
        self.reason = reason
    }

    public var description: String { "\(argument) '\(text)': \(reason)" }

    /// `text` with the password of `scheme://user:PASSWORD@host` and of `password=…` replaced.
    static func withoutPassword(_ text: String) -> String {
        var result = text
        if let scheme = result.range(of: "://") {
            let authorityEnd = result[scheme.upperBound...].firstIndex { $0 == "/" || $0 == "?" } ?? result.endIndex
            let authority = scheme.upperBound..<authorityEnd
            if let at = result[authority].lastIndex(of: "@"), let colon = result[scheme.upperBound..<at].firstIndex(of: ":") {
                result.replaceSubrange(result.index(after: colon)..<at, with: "(redacted)")
            }
        }
        guard let query = result.firstIndex(of: "?") else { return result }
        let pairs = result[result.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { pair in
            pair.lowercased().hasPrefix("password=") ? pair.prefix("password=".count) + "(redacted)" : String(pair)
        }
        return String(result[...query]) + pairs.joined(separator: "&")
    }
}

extension StoreLocation {
    static let examples = "write sqlite:PATH or postgresql:///DATABASE?host=SOCKET_DIRECTORY&user=ROLE"

    /// Reads a store URL. `argument` names where it came from, for the error.
    public static func parse(_ text: String, argument: String = "--store") throws(StoreLocationProblem) -> StoreLocation {
        func problem(_ reason: String) -> StoreLocationProblem {
            StoreLocationProblem(argument: argument, text: text, reason: reason)
        }
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            if path.isEmpty { throw problem("no file after sqlite: — \(examples)") }
            return .sqlite(path: path)
        }
        let rest: Substring
        if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else {
            throw problem("unknown kind of store: \(examples)")
        }
        return .postgresql(try PostgresAddress.parse(rest, problem: problem))
    }
}

extension PostgresAddress {
    static let parameters: Set<String> = ["host", "port", "user", "dbname", "sslmode"]

    /// `rest` is everything after `postgresql://`: `[user@][host][:port]/database[?key=value&…]`.
    static func parse(_ rest: Substring, problem: (String) -> StoreLocationProblem) throws(StoreLocationProblem) -> PostgresAddress {
        let (beforeQuery, query) = split(rest, at: "?")
        let (authority, pathPart) = split(beforeQuery, at: "/")
        var settings: [String: String] = [:]
        if let query, !query.isEmpty {
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let (rawKey, rawValue) = split(pair, at: "=")
                guard let rawValue else { throw problem("'\(pair)' has no value: write KEY=VALUE") }
                guard let key = percentDecoded(rawKey), let value = percentDecoded(rawValue) else {
                    throw problem("'\(pair)' has a broken %-escape")
                }
                if key == "password" {
                    throw problem("a password in the URL would show in ps, shell history and unit files; use a Unix socket (host=/run/postgresql) with peer authentication")
                }
                guard parameters.contains(key) else {
                    throw problem("unknown setting '\(key)': Renkei reads \(parameters.sorted().joined(separator: ", "))")
                }
                if settings[key] != nil { throw problem("'\(key)' is given twice") }
                settings[key] = value
            }
        }
        var user: String?
        var hostPort = Substring(authority)
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            if userInfo.contains(":") {
                throw problem("a password in the URL would show in ps, shell history and unit files; use a Unix socket (host=/run/postgresql) with peer authentication")
            }
            user = percentDecoded(userInfo)
            hostPort = authority[authority.index(after: at)...]
        }
        var host: String?
        var portText: String?
        if hostPort.hasPrefix("[") {
            throw problem("IPv6 addresses in brackets are not read yet; use a host name")
        } else {
            let (h, p) = split(hostPort, at: ":")
            if !h.isEmpty {
                guard let decoded = percentDecoded(h) else { throw problem("the host '\(h)' has a broken %-escape") }
                host = decoded
            }
            portText = p.map(String.init)
        }
        if let queryUser = settings["user"] {
            if user != nil, user != queryUser { throw problem("two different users: '\(user!)' before @ and user=\(queryUser)") }
            user = queryUser
        }
        if let queryHost = settings["host"] {
            if host != nil, host != queryHost { throw problem("two different hosts: '\(host!)' and host=\(queryHost)") }
            host = queryHost
        }
        if let queryPort = settings["port"] {
            if portText != nil, portText != queryPort { throw problem("two different ports: \(portText!) and port=\(queryPort)") }
            portText = queryPort
        }
        var port = 5432
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw problem("port '\(portText)' is not a port number (1–65535)")
            }
            port = value
        }
        var database = pathPart.flatMap { percentDecoded($0) } ?? ""
        if let name = settings["dbname"] {
            if !database.isEmpty, database != name { throw problem("two different databases: '\(database)' and dbname=\(name)") }
            database = name
        }
        if database.isEmpty { throw problem("no database: write postgresql:///renkei?… (the database after the third slash)") }
        guard let user, !user.isEmpty else {
            throw problem("no role: add user=ROLE (Renkei does not guess the role from the login name)")
        }
        guard let host, !host.isEmpty else {
            throw problem("no server: add host=SOCKET_DIRECTORY (such as host=/run/postgresql) for a Unix socket, or a host name with sslmode=require")
        }
        let sslmode = settings["sslmode"]
        if let sslmode, !["disable", "require"].contains(sslmode) {
            throw problem("sslmode=\(sslmode) is not read: write sslmode=require (TCP) or leave it out (Unix socket)")
        }
        if host.hasPrefix("/") {
            if sslmode == "require" { throw problem("sslmode=require over a Unix socket: TLS is for TCP; leave sslmode out") }
            return PostgresAddress(transport: .unixSocket(directory: host), port: port, user: user, database: database)
        }
        guard sslmode == "require" else {
            throw problem("TCP to '\(host)' without TLS would send run records and the audit in clear: add sslmode=require, or use a Unix socket (host=/run/postgresql)")
        }
        return PostgresAddress(transport: .tcp(host: host), port: port, user: user, database: database)
    }

    private static func split(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }

    /// `%2F` → `/`, `+` stays `+` (URLs, not forms). Nil for a broken escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
