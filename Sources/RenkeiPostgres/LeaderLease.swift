import Foundation
import PostgresNIO
import RenkeiCore

/// The leader lease as rows of `lease`: one row per role (`scheduler`), its holder a node's
/// incarnation, its `epoch` the fencing token, raised each time the holder changes. Every
/// decision uses the database's clock (`now()`, `clock_timestamp()`), never a node's.
public struct LeaderLease: Sendable {
    /// The term the database granted: who, which epoch, until when (database time).
    public struct Term: Sendable, Equatable {
        public var epoch: Int64
        public var acquiredAt: Date
        public var expiresAt: Date
    }

    /// The lease's role: one leader per role.
    public var role: String
    /// This process's incarnation (a fresh UUID for every start).
    public var holder: UUID
    public var timings: ClusterTimings

    public init(role: String = "scheduler", holder: UUID, timings: ClusterTimings) {
        self.role = role
        self.holder = holder
        self.timings = timings
    }

    /// Takes the lease if it is free or expired, renews it if this holder has it; nil when
    /// another holder's lease is still running. One statement, so two nodes racing cannot both win.
    public func acquireOrRenew(_ session: PostgresSession) async throws -> Term? {
        let ttl = timings.leaseTTL.seconds
        let rows = try await session.run("""
            INSERT INTO lease AS l (role, holder, epoch, acquired_at, expires_at)
            VALUES (\(role), \(holder), 1, now(), now() + \(ttl) * interval '1 second')
            ON CONFLICT (role) DO UPDATE SET holder = excluded.holder,
              epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
              acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE now() END,
              expires_at = excluded.expires_at
            WHERE l.holder = excluded.holder OR l.expires_at < now()
            RETURNING epoch, acquired_at, expires_at
            """, doing: "renewing the \(role) lease")
        return try rows.first.map { row in
            let (epoch, acquiredAt, expiresAt) = try row.decode((Int64, Date, Date).self)
            return Term(epoch: epoch, acquiredAt: acquiredAt, expiresAt: expiresAt)
        }
    }

    /// Gives the lease up at once (a clean stop), so the next leader need not wait for the TTL.
    /// True when this holder still had it.
    @discardableResult
    public func release(_ session: PostgresSession, epoch: Int64) async throws -> Bool {
        let rows = try await session.run("""
            UPDATE lease SET expires_at = now() - interval '1 second'
            WHERE role = \(role) AND holder = \(holder) AND epoch = \(epoch) AND expires_at > clock_timestamp()
            RETURNING epoch
            """, doing: "releasing the \(role) lease")
        return !rows.isEmpty
    }

    /// Runs `body` in one transaction that first checks, and holds with FOR SHARE until commit,
    /// that this holder's term `epoch` is still current by the database's clock. A takeover
    /// waits for the commit; a stale leader gets `FencedOut` and its transaction is rolled back.
    public func fenced<Result: Sendable>(_ session: PostgresSession, epoch: Int64, doing: String,
                                         _ body: () async throws -> Result) async throws -> Result {
        try await session.transaction(doing: doing) {
            let current = try await session.run("""
                SELECT epoch FROM lease
                WHERE role = \(role) AND holder = \(holder) AND epoch = \(epoch) AND expires_at > clock_timestamp()
                FOR SHARE
                """, doing: "\(doing): checking the \(role) lease")
            guard !current.isEmpty else {
                let holderNow = try await session.run("SELECT epoch FROM lease WHERE role = \(role)", doing: "\(doing): reading the \(role) lease")
                let newest = try holderNow.first.map { try $0.decode(Int64.self) }
                throw FencedOut(role: role, epoch: epoch, currentEpoch: newest)
            }
            return try await body()
        }
    }
}

/// What a fenced write came to.
public enum Fenced<Result: Sendable>: Sendable {
    case written(Result)
    /// Refused: the term it was made under is over; nothing was written.
    case fenced(FencedOut)
}

/// A write refused because its leader term is over.
public struct FencedOut: Error, Sendable, Equatable, CustomStringConvertible {
    public var role: String
    public var epoch: Int64
    public var currentEpoch: Int64?

    public var description: String {
        let now = currentEpoch.map { $0 == epoch ? "it expired by the database's clock" : "the \(role) lease is now at epoch \($0)" } ?? "the lease row is gone"
        return "fenced: not written, this node no longer leads (its \(role) term was epoch \(epoch); \(now)); it steps down and follows"
    }
}

extension LeaderLease {
    /// `fenced`, with a refusal as a value rather than an error.
    public func fencedWrite<Result: Sendable>(_ session: PostgresSession, epoch: Int64, doing: String,
                                              _ body: () async throws -> Result) async throws -> Fenced<Result> {
        do {
            return .written(try await fenced(session, epoch: epoch, doing: doing, body))
        } catch let refusal as FencedOut {
            return .fenced(refusal)
        }
    }
}
