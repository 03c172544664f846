import PostgresNIO
import RenkeiCore

/// What a node's role may do, given by `renkeictl store migrate --node-role ROLE` as the role that
/// owns Renkei's tables: read and write the rows of every table, but only read and append the
/// audit, only read `renkei_schema`, and own nothing — so a node (or whoever takes one over) can
/// neither rewrite the audit nor `ALTER TABLE audit DISABLE TRIGGER`, nor change the schema.
/// A role that is a member of the owner holds the owner's rights whatever is granted: the grant
/// goes through, with a warning.
public enum NodeRoleGrants {
    /// What granting to one role came to.
    public struct Granted: Sendable, Equatable, CustomStringConvertible {
        public var role: String
        /// True when the role only had its rights renewed (it had them before this migrate).
        public var renewed: Bool
        public var warning: String?

        public var description: String {
            "\(renewed ? "renewed" : "granted") a node's rights to \(role): rows of every table, the audit read and append only, no ownership"
        }
    }

    /// A role name as PostgreSQL's `CREATE ROLE` would take it unquoted, or nil with why not.
    public static func problem(with role: String) -> String? {
        let allowed = role.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        guard !role.isEmpty, role.count <= 63, allowed, let first = role.unicodeScalars.first, !("0"..."9").contains(first) else {
            return "'\(role)' is not a role name Renkei takes: lower-case letters, digits and _ (not first), at most 63"
        }
        return nil
    }

    /// Grants to `roles` and renews the grants of every role that had them (so tables of a newer
    /// migration are theirs too). Run in the migration's session, as the owner.
    public static func grant(_ roles: [String], _ session: PostgresSession) async throws -> [Granted] {
        let owner = try await session.run("SELECT current_user::text", doing: "reading the owner role")[0].decode(String.self)
        let earlier = try await session.run("""
            SELECT DISTINCT grantee::text FROM information_schema.role_table_grants
            WHERE table_schema = 'public' AND table_name = 'run' AND privilege_type = 'INSERT' AND grantee <> current_user
            ORDER BY 1
            """, doing: "reading the node roles granted before").map { try $0.decode(String.self) }
        var granted: [Granted] = []
        for role in roles {
            if let problem = problem(with: role) { throw NodeRoleProblem(message: "--node-role \(problem)") }
            if role == owner {
                throw NodeRoleProblem(message: "--node-role \(role): that is the role migrate runs as, which owns Renkei's tables; nodes log in as another role (CREATE ROLE renkei_node LOGIN), so that they cannot change the schema or the audit")
            }
        }
        // Roles granted by hand under names Renkei would not take (PUBLIC, mixed case) are left
        // as they are: renewing is for the roles `--node-role` gave rights to.
        let renewable = earlier.filter { problem(with: $0) == nil && $0 != owner }
        for role in (roles + renewable).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } } {
            let found = try await session.run("""
                SELECT rolsuper, pg_has_role(rolname, current_user, 'MEMBER') FROM pg_roles WHERE rolname = \(role)
                """, doing: "reading the role \(role)")
            guard let row = found.first else {
                throw NodeRoleProblem(message: "--node-role: there is no role \(role) in \(session.address): create it as the PostgreSQL superuser (CREATE ROLE \(role) LOGIN), then run migrate again")
            }
            let (superuser, member) = try row.decode((Bool, Bool).self)
            for statement in statements(for: role) {
                try await session.execute(statement, doing: "granting a node's rights to \(role)")
            }
            var warning: String?
            if superuser {
                warning = "\(role) is a superuser: it can do anything whatever is granted, the audit included; give the nodes a role that is not"
            } else if member {
                warning = "\(role) is a member of \(owner), which owns Renkei's tables: it can alter the audit table or disable its triggers whatever is granted; take it out (REVOKE \(owner) FROM \(role)) so it has a node's rights only"
            }
            granted.append(Granted(role: role, renewed: earlier.contains(role) && !roles.contains(role), warning: warning))
        }
        return granted
    }

    /// `role` is checked by `problem(with:)`; quoted anyway.
    static func statements(for role: String) -> [String] {
        let quoted = "\"\(role)\""
        return [
            "GRANT USAGE ON SCHEMA public TO \(quoted)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \(quoted)",
            // USAGE is enough for nextval; UPDATE would let a node setval the claim sequence.
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \(quoted)",
            "REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA public FROM \(quoted)",
            // The audit is appended and read, never changed (its triggers say so too; without
            // ownership a node cannot switch them off).
            "REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM \(quoted)",
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON renkei_schema FROM \(quoted)",
        ]
    }
}

/// `--node-role` named no role that can be given a node's rights.
public struct NodeRoleProblem: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
