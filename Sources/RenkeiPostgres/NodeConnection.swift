import Foundation
import Logging
import PostgresNIO
import RenkeiCore

/// A node's connection for one duty (heartbeat, leadership, claims): opened when first needed,
/// dropped when it breaks, opened again by the next use. So a PostgreSQL restart shorter than the
/// node's limits costs a missed beat or two and a line in the log, never the process.
public actor NodeConnection {
    public let address: PostgresAddress
    public let applicationName: String
    private var session: PostgresSession?

    public init(_ address: PostgresAddress, applicationName: String) {
        self.address = address
        self.applicationName = applicationName
    }

    /// Runs `body` on the open session, opening one first when there is none or it was cut (a
    /// PostgreSQL restart, a statement left unanswered). A failure that says the connection is
    /// lost closes it at once; any other error (a refusal, a fenced write, a lost claim) keeps it.
    public func use<Result: Sendable>(_ body: @Sendable (PostgresSession) async throws -> Result) async throws -> Result {
        let current: PostgresSession
        if let session, !session.isClosed {
            current = session
        } else {
            if let session { await session.close() }
            session = nil
            current = try await PostgresSession.open(address, applicationName: applicationName)
            session = current
        }
        do {
            return try await body(current)
        } catch let problem as PostgresProblem where problem.kind == .unreachable || problem.kind == .connectionLost {
            session = nil
            await current.close()
            throw problem
        }
    }

    public func close() async {
        await session?.close()
        session = nil
    }
}
