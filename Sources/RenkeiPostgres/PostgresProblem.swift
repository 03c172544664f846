import PostgresNIO
import RenkeiCore

/// A failure talking to PostgreSQL, in words for the operator: where, what the server said, what
/// to run next. PostgresNIO hides its errors' details from `description` on purpose; here they
/// are taken out field by field (never the query's bound values).
public struct PostgresProblem: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// No connection could be made (no socket, refused, timed out, TLS).
        case unreachable
        /// The server refused the role or the database, or a statement for lack of privilege.
        case refused
        /// The server answered a statement with an error.
        case server
        /// The connection broke while a statement was under way.
        case connectionLost
    }

    public var kind: Kind
    /// The database it was about: `postgresql:///renkei?host=…&user=…`.
    public var address: String
    /// The SQLSTATE, when the server sent one (`42501`, `23505`, …).
    public var sqlState: String?
    public var message: String

    public var description: String { message }

    /// Reads any error from PostgresNIO (or the connect call) into a problem about `address`.
    public static func from(_ error: any Error, address: PostgresAddress, doing: String) -> PostgresProblem {
        if let problem = error as? PostgresProblem { return problem }
        let place = address.description
        guard let error = error as? PSQLError else {
            return PostgresProblem(kind: .unreachable, address: place, sqlState: nil,
                                   message: "\(doing) on \(place) failed: \(error)")
        }
        if error.code == .server, let info = error.serverInfo {
            let state = info[.sqlState]
            var text = "\(doing) on \(place): PostgreSQL says: \(info[.message] ?? "an error")"
            if let state { text += " (SQLSTATE \(state))" }
            if let detail = info[.detail] { text += "; \(detail)" }
            if let hint = info[.hint] { text += "; hint: \(hint)" }
            // 28xxx: authentication; 3D000: no such database; 42501: no privilege.
            let refused = state.map { $0.hasPrefix("28") || $0 == "3D000" || $0 == "42501" } ?? false
            if refused { text += next(for: state, address: address) }
            // 57P01–57P03 (shutting down, crashed, starting up) and class 08 (connection): the
            // server is not there for now, which is not a refusal; the caller tries again.
            let passing = state.map { ["57P01", "57P02", "57P03"].contains($0) || $0.hasPrefix("08") } ?? false
            return PostgresProblem(kind: refused ? .refused : passing ? .unreachable : .server, address: place, sqlState: state, message: text)
        }
        switch error.code {
        case .authMechanismRequiresPassword:
            return PostgresProblem(kind: .refused, address: place, sqlState: nil,
                                   message: "\(doing) on \(place): PostgreSQL asks a password of the role \(address.user), and none was found: give renkeid the systemd credential renkei-store-password (LoadCredential=renkei-store-password:/etc/renkei/store.password), or add a line \(passwordLine(address)) to ~/.pgpass or the file $PGPASSFILE names (mode 0600); never put it in the URL")
        case .unsupportedAuthMechanism, .saslError:
            return PostgresProblem(kind: .refused, address: place, sqlState: nil,
                                   message: "\(doing) on \(place): the role \(address.user) could not authenticate (\(error.code)); check its password and pg_hba.conf's method (scram-sha-256, peer or cert)")
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return PostgresProblem(kind: .connectionLost, address: place, sqlState: nil,
                                   message: "\(doing) on \(place): the connection to PostgreSQL was lost (server restarted or stopped?)")
        default:
            var text = "\(doing): cannot reach PostgreSQL at \(place)"
            if let underlying = error.underlying { text += " (\(underlying))" }
            switch address.transport {
            case .unixSocket:
                text += "; is the server running and is \(address.socketFile ?? "its socket") there? Try: systemctl status postgresql; psql -h \(socketDirectory(address)) -U \(address.user) \(address.database)"
            case .tcp(let host):
                text += "; is the server up and reachable on \(host):\(address.port) with TLS? Try: psql \"host=\(host) port=\(address.port) user=\(address.user) dbname=\(address.database) sslmode=require\""
            }
            return PostgresProblem(kind: .unreachable, address: place, sqlState: nil, message: text)
        }
    }

    /// The password-file line for `address`, with the password left out.
    private static func passwordLine(_ address: PostgresAddress) -> String {
        let host = if case .tcp(let name) = address.transport { name } else { "localhost" }
        return "\(host):\(address.port):\(address.database):\(address.user):PASSWORD"
    }

    private static func socketDirectory(_ address: PostgresAddress) -> String {
        if case .unixSocket(let directory) = address.transport { return directory }
        return ""
    }

    private static func next(for state: String?, address: PostgresAddress) -> String {
        switch state {
        case "3D000": return ". Create it as the PostgreSQL superuser: createdb -O \(address.user) \(address.database)"
        case "42501": return ". Run `renkeictl store migrate` as the role that owns Renkei's tables, or have the owner give \(address.user) a node's rights: renkeictl store migrate --node-role \(address.user)"
        default: return ". Check that the role \(address.user) exists with LOGIN and that pg_hba.conf lets it in"
        }
    }
}
