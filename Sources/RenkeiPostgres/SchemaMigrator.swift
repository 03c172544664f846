import PostgresNIO
import RenkeiCore

/// What `renkeictl store migrate` did.
public enum MigrationOutcome: Sendable, Equatable, CustomStringConvertible {
    case created(version: Int)
    case upgraded(from: Int, to: Int)
    case alreadyAt(version: Int)

    public var description: String {
        switch self {
        case .created(let version): return "created Renkei's schema at version \(version)"
        case .upgraded(let from, let to): return "upgraded Renkei's schema from version \(from) to \(to)"
        case .alreadyAt(let version): return "already at version \(version); nothing to do"
        }
    }
}

/// Brings a database to a schema version, all pending migrations in one transaction: a second
/// `migrate` at the same time waits for the first and then finds nothing to do; a failure leaves
/// the database at the version it had.
public enum SchemaMigrator {
    public static func migrate(_ session: PostgresSession, upTo target: Int = PostgresSchema.latest) async throws -> MigrationOutcome {
        try await session.execute(PostgresSchema.versionTable, doing: "creating the table renkei_schema")
        // A node's session ends a transaction left idle 10 s (a paused peer must not hold a lock);
        // a migration is an operator's one-off command, and a pause of renkeictl (a loaded
        // machine, a Ctrl-Z) must not make it fail half-way: it may wait longer between statements.
        try await session.execute("SET idle_in_transaction_session_timeout = '10min'", doing: "setting the migration's idle limit")
        return try await session.transaction(doing: "migrating the schema") {
            // Serialises concurrent migrations without advisory locks (which poolers drop).
            try await session.execute("LOCK TABLE renkei_schema IN EXCLUSIVE MODE", doing: "locking renkei_schema")
            let current = try await version(session)
            if current > PostgresSchema.latest {
                throw PostgresProblem(
                    kind: .server, address: session.address.description, sqlState: nil,
                    message: "the database \(session.address) is at schema version \(current), newer than this renkeictl knows (\(PostgresSchema.latest)): install the newer Renkei on this machine before using it with this database")
            }
            if current >= target { return .alreadyAt(version: current) }
            for migration in PostgresSchema.migrations where migration.version > current && migration.version <= target {
                for statement in migration.statements {
                    try await session.execute(statement, doing: "migrating to version \(migration.version) (\(migration.name))")
                }
                try await session.run("INSERT INTO renkei_schema (version, name) VALUES (\(migration.version), \(migration.name))",
                                      doing: "recording version \(migration.version)")
            }
            return current == 0 ? .created(version: target) : .upgraded(from: current, to: target)
        }
    }

    /// The highest applied version; 0 for a database without Renkei's schema.
    public static func version(_ session: PostgresSession) async throws -> Int {
        let exists = try await session.run("SELECT to_regclass('renkei_schema') IS NOT NULL", doing: "reading the schema version")
        guard let first = exists.first, try first.decode(Bool.self) else { return 0 }
        let rows = try await session.run("SELECT coalesce(max(version), 0) FROM renkei_schema", doing: "reading the schema version")
        return try rows.first.map { try Int($0.decode(Int32.self)) } ?? 0
    }
}
