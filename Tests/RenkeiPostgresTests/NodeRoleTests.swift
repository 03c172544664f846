import Foundation
import Testing
import RenkeiCore
import RenkeiStore
@testable import RenkeiPostgres

/// `renkeictl store migrate --node-role ROLE` on a real PostgreSQL 15: a node's role does its work
/// (registers, leads, records slots, claims, appends the audit) and cannot rewrite the audit,
/// switch off its triggers or change the schema.
@Suite(.serialized) struct NodeRoleTests {
    /// A scratch database with the login role `renkei_node`, which is NOT a member of the owner.
    private func withNodeRole() throws -> ScratchPostgres {
        let postgres = try ScratchPostgres()
        let created = try postgres.psql("CREATE ROLE renkei_node LOGIN")
        #expect(created.status == 0, "\(created.stderr)")
        return postgres
    }

    private func psqlAsNode(_ postgres: ScratchPostgres, _ sql: String) throws -> Finished {
        try postgres.psql(sql, user: "renkei_node")
    }

    @Test func aNodeRoleDoesANodesWorkAndCannotTouchTheAuditOrTheSchema() async throws {
        let postgres = try withNodeRole()
        let migrated = try execute(renkeictl, ["store", "migrate", "--store", postgres.url(), "--node-role", "renkei_node"])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("granted a node's rights to renkei_node: rows of every table, the audit read and append only, no ownership"), "\(migrated.stdout)")
        #expect(!migrated.stderr.contains("warning"), "\(migrated.stderr)")

        try await postgres.withSession(user: "renkei_node", name: "node n") { session in
            let node = NodeRegistration(name: "n")
            try await node.register(session, host: "localhost", pid: getpid())
            let lease = LeaderLease(holder: node.incarnation, timings: LeaderLeaseTests.patient)
            let term = try #require(try await lease.acquireOrRenew(session))
            let slot = LedgerSlot(job: "juki-to-fukushi", logicalTime: 1_764_538_200, zone: "Asia/Tokyo", definitionHash: "abc", outcome: .queued)
            guard case .written(let entry) = try await SlotLedger.record([slot], session, lease: lease, epoch: term.epoch) else {
                Issue.record("the node's leader write was fenced"); return
            }
            #expect(entry.recorded.count == 1)
            let claim = try #require(try await RunClaims.claimNext(session, node: node.incarnation))
            #expect(try await RunClaims.finish(session, claim, state: .succeeded, exitStatus: 0))
            let entryAudit = AuditEntry(uid: 0, user: "root", pid: 1, request: "rerun 1", reason: "test", result: "accepted")
            _ = try await PostgresAudit.append(entryAudit, runID: claim.runID, at: Date(), key: nil, session)
        }

        // What a node must never do: each refused by PostgreSQL's privileges, not by goodwill.
        for (sql, refusal) in [
            ("UPDATE audit SET reason = 'nothing happened'", "permission denied for table audit"),
            ("DELETE FROM audit", "permission denied for table audit"),
            ("ALTER TABLE audit DISABLE TRIGGER USER", "must be owner of table audit"),
            ("DELETE FROM renkei_schema", "permission denied for table renkei_schema"),
            ("DROP TABLE run", "must be owner of table run"),
            ("CREATE TABLE shadow (x int)", "permission denied for schema public"),
            ("SELECT setval('run_claim_seq', 1)", "permission denied for sequence run_claim_seq"),
        ] {
            let tried = try psqlAsNode(postgres, sql)
            #expect(tried.status != 0, "\(sql) went through")
            #expect(tried.stderr.contains(refusal), "\(sql): \(tried.stderr)")
        }
        #expect(try postgres.psql("SELECT count(*) FROM audit").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test func anUpgradeRenewsTheRightsOfRolesGrantedBefore() async throws {
        let postgres = try withNodeRole()
        // Granted at version 3, before the request table existed.
        _ = try await postgres.withSession { session in
            _ = try await SchemaMigrator.migrate(session, upTo: 3)
            return try await NodeRoleGrants.grant(["renkei_node"], session)
        }
        let before = try psqlAsNode(postgres, "SELECT count(*) FROM node")
        #expect(before.status == 0, "\(before.stderr)")

        let upgraded = try execute(renkeictl, ["store", "migrate", "--store", postgres.url()])
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(upgraded.stdout.contains("renewed a node's rights to renkei_node"), "\(upgraded.stdout)")
        let after = try psqlAsNode(postgres, "SELECT count(*) FROM request")
        #expect(after.status == 0, "the request table of version 4 is not the node's: \(after.stderr)")
        let audit = try psqlAsNode(postgres, "UPDATE audit SET reason = 'x'")
        #expect(audit.stderr.contains("permission denied for table audit"), "\(audit.stderr)")
    }

    @Test func aMemberOfTheOwnerIsWarnedAndAMissingOrMalformedRoleIsRefused() throws {
        let postgres = try withNodeRole()
        // renkei_a is a member of renkei (the scratch server's owner): it holds the owner's rights.
        let member = try execute(renkeictl, ["store", "migrate", "--store", postgres.url(), "--node-role", "renkei_a"])
        #expect(member.status == 0, "\(member.stderr)")
        #expect(member.stderr.contains("warning: renkei_a is a member of renkei, which owns Renkei's tables"), "\(member.stderr)")
        #expect(member.stderr.contains("REVOKE renkei FROM renkei_a"), "\(member.stderr)")

        let missing = try execute(renkeictl, ["store", "migrate", "--store", postgres.url(), "--node-role", "renkei_nobody"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("there is no role renkei_nobody"), "\(missing.stderr)")
        #expect(missing.stderr.contains("CREATE ROLE renkei_nobody LOGIN"), "\(missing.stderr)")

        let owner = try execute(renkeictl, ["store", "migrate", "--store", postgres.url(), "--node-role", "renkei"])
        #expect(owner.status == 2)
        #expect(owner.stderr.contains("that is the role migrate runs as, which owns Renkei's tables"), "\(owner.stderr)")
        let again = try execute(renkeictl, ["store", "migrate", "--store", postgres.url()])
        #expect(again.status == 0, "the owner's next migrate: \(again.stderr)")

        let malformed = try execute(renkeictl, ["store", "migrate", "--store", postgres.url(), "--node-role", "x\"; DROP TABLE run; --"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("is not a role name Renkei takes"), "\(malformed.stderr)")
        #expect(try postgres.psql("SELECT count(*) FROM run").status == 0, "the run table is gone")
    }
}
