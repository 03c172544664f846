import Foundation
import RenkeiCore

/// Connections a node keeps for its runs' records and its control socket's calls: a run (or a
/// call) takes one for its whole life (its end is a transaction, and two users' writes must not
/// interleave inside it) and gives it back. Reusing
/// them spares each run a connection's start (a socket, authentication, settings), which on a busy
/// node cost more than all of the run's own statements.
public actor SessionPool {
    public let address: PostgresAddress
    public let applicationName: String
    /// At most this many idle connections are kept; more are closed when given back.
    public let idleLimit: Int
    private var idle: [PostgresSession] = []

    public init(_ address: PostgresAddress, applicationName: String, idleLimit: Int) {
        self.address = address
        self.applicationName = applicationName
        self.idleLimit = idleLimit
    }

    /// An open connection: an idle one still connected, else a new one.
    public func take() async throws -> PostgresSession {
        while let session = idle.popLast() {
            if !session.isClosed { return session }
            await session.close()
        }
        return try await PostgresSession.open(address, applicationName: applicationName)
    }

    /// Back after use: kept while connected and there is room, else closed.
    public func give(_ session: PostgresSession) async {
        if session.isClosed || idle.count >= idleLimit {
            await session.close()
        } else {
            idle.append(session)
        }
    }

    /// `body` on a connection of the pool, given back however `body` ends.
    public func with<Result: Sendable>(_ body: @Sendable (PostgresSession) async throws -> Result) async throws -> Result {
        let session = try await take()
        do {
            let result = try await body(session)
            await give(session)
            return result
        } catch {
            await give(session)
            throw error
        }
    }

    public func closeAll() async {
        for session in idle { await session.close() }
        idle.removeAll()
    }
}
