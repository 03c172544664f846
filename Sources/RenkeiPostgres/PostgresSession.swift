import Logging
import PostgresNIO
import RenkeiCore

/// One connection to the store's database, with the session settings every Renkei connection
/// has: its name in `pg_stat_activity`, and timeouts so a paused peer holding a lock cannot
/// block a takeover for ever (memo §8.12).
///
/// One connection rather than PostgresNIO's pool: the lease and a migration must see a failed
/// connection as a failure at once (the pool waits and retries behind the caller's back).
public final class PostgresSession: Sendable {
    public let address: PostgresAddress
    let connection: PostgresConnection
    /// How long a statement may go unanswered before the connection is given up: longer than the
    /// server's own statement_timeout (10 s for a node), so a slow statement is the server's error
    /// first; this one is for a server that cannot answer at all. An operator's one-off command
    /// that sets a longer statement_timeout (migrate, copy) opens its session with a longer one.
    let answerTimeout: Duration

    private init(address: PostgresAddress, connection: PostgresConnection, answerTimeout: Duration) {
        self.address = address
        self.connection = connection
        self.answerTimeout = answerTimeout
    }

    /// Connects, or throws a `PostgresProblem` saying where and what to try.
    public static func open(_ address: PostgresAddress, applicationName: String = "renkei", answerTimeout: Duration = .seconds(15),
                            logger: Logger = Logger(label: "renkei.postgres", factory: { _ in SwiftLogNoOpLogHandler() })) async throws -> PostgresSession {
        var configuration: PostgresConnection.Configuration
        let password = PostgresPassword.lookup(address)
        switch address.transport {
        case .unixSocket:
            configuration = .init(unixSocketPath: address.socketFile!, username: address.user, password: password, database: address.database)
        case .tcp(let host):
            configuration = .init(host: host, port: address.port, username: address.user, password: password, database: address.database,
                                  tls: .require(try NIOSSL.NIOSSLContext(configuration: .makeClientConfiguration())))
        }
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters = [
            ("application_name", applicationName),
            ("idle_in_transaction_session_timeout", "10s"),
            ("lock_timeout", "2s"),
            ("statement_timeout", "10s"),
        ]
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            return PostgresSession(address: address, connection: connection, answerTimeout: answerTimeout)
        } catch {
            throw PostgresProblem.from(error, address: address, doing: "connecting")
        }
    }

    /// The connection is gone (cut by the server, closed after an unanswered statement).
    public var isClosed: Bool { connection.isClosed }

    public func close() async {
        try? await connection.close()
    }

    /// Opens a session for `body` and closes it afterwards, however `body` ends.
    public static func with<Result>(_ address: PostgresAddress, applicationName: String, answerTimeout: Duration = .seconds(15),
                                    _ body: (PostgresSession) async throws -> Result) async throws -> Result {
        let session = try await open(address, applicationName: applicationName, answerTimeout: answerTimeout)
        do {
            let result = try await body(session)
            await session.close()
            return result
        } catch {
            await session.close()
            throw error
        }
    }

    /// Runs SQL text that carries no values (schema statements, BEGIN/COMMIT).
    public func execute(_ sql: String, doing: String) async throws {
        try await run(PostgresQuery(unsafeSQL: sql), doing: doing)
    }

    /// Runs a query and returns its rows, all read. A connection the server has cut fails at
    /// once; a server that does not answer within `answerTimeout` fails too, and the connection
    /// is closed: a leader must learn that its renewal failed, not wait for it.
    @discardableResult
    public func run(_ query: PostgresQuery, doing: String) async throws -> [PostgresRow] {
        if connection.isClosed {
            throw PostgresProblem(kind: .connectionLost, address: address.description, sqlState: nil,
                                  message: "\(doing) on \(address): the connection to PostgreSQL was lost (server restarted or stopped?)")
        }
        let connection = self.connection
        let answerTimeout = self.answerTimeout
        do {
            return try await withThrowingTaskGroup(of: [PostgresRow]?.self) { group in
                group.addTask {
                    var rows: [PostgresRow] = []
                    for try await row in try await connection.query(query, logger: Self.quiet) { rows.append(row) }
                    return rows
                }
                group.addTask {
                    try await Task.sleep(for: answerTimeout)
                    return nil
                }
                let first = try await group.next()!
                if let rows = first {
                    group.cancelAll()
                    return rows
                }
                try? await connection.close()
                group.cancelAll()
                throw PostgresProblem(kind: .connectionLost, address: address.description, sqlState: nil,
                                      message: "\(doing) on \(address): PostgreSQL did not answer within \(answerTimeout); the connection was closed")
            }
        } catch {
            throw PostgresProblem.from(error, address: address, doing: doing)
        }
    }

    /// `body` inside BEGIN … COMMIT; ROLLBACK when it throws.
    public func transaction<Result>(doing: String, _ body: () async throws -> Result) async throws -> Result {
        try await execute("BEGIN", doing: doing)
        do {
            let result = try await body()
            try await execute("COMMIT", doing: doing)
            return result
        } catch {
            // A ROLLBACK that does not get through (the task cancelled, the connection cut) must
            // not leave this connection inside the failed transaction, where the next BEGIN would
            // only warn and its COMMIT commit this one's half: close it (the server rolls back).
            do { try await execute("ROLLBACK", doing: doing) } catch { await close() }
            throw error
        }
    }

    static let quiet = Logger(label: "renkei.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
