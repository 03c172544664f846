import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// Claims of queued runs by several nodes at once, on a real PostgreSQL 15.
@Suite(.serialized) struct RunClaimTests {
    @Test func twoConcurrentClaimersTakeEachRunExactlyOnce() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try postgres.queue(runs: 300, eachItsOwnJob: true)
        try await postgres.withNode("a", user: "renkei_a") { nodeA, sessionA in
        try await postgres.withNode("b", user: "renkei_b") { nodeB, sessionB in

        func drain(_ session: PostgresSession, _ node: NodeRegistration) async throws -> [RunClaim] {
            var taken: [RunClaim] = []
            while let claim = try await RunClaims.claimNext(session, node: node.incarnation) { taken.append(claim) }
            return taken
        }
        async let byA = drain(sessionA, nodeA)
        async let byB = drain(sessionB, nodeB)
        let (claimsA, claimsB) = try await (byA, byB)

        let all = claimsA + claimsB
        #expect(all.count == 300)
        #expect(Set(all.map(\.runID)).count == 300, "a run was claimed twice")
        #expect(Set(all.map(\.claim)).count == 300, "a claim token was given twice")
        #expect(!claimsA.isEmpty && !claimsB.isEmpty, "one claimer took everything: a \(claimsA.count), b \(claimsB.count)")

        let owners = try postgres.psql("""
            SELECT count(*) FILTER (WHERE state = 'running' AND owner_node = '\(nodeA.incarnation)'),
                   count(*) FILTER (WHERE state = 'running' AND owner_node = '\(nodeB.incarnation)'),
                   count(*) FILTER (WHERE state <> 'running' OR claim IS NULL)
            FROM run
            """)
        #expect(owners.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(claimsA.count)|\(claimsB.count)|0")
        }
        }
    }

    @Test func aRunNotYetDueIsNotClaimedAndAnOldClaimWritesNothing() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try postgres.queue(runs: 1)
        #expect(try postgres.psql("UPDATE run SET not_before = now() + interval '1 hour'").status == 0)
        try await postgres.withNode("a", user: "renkei_a") { nodeA, sessionA in
        #expect(try await RunClaims.claimNext(sessionA, node: nodeA.incarnation) == nil)

        #expect(try postgres.psql("UPDATE run SET not_before = now() - interval '1 second'").status == 0)
        let first = try #require(try await RunClaims.claimNext(sessionA, node: nodeA.incarnation))
        // The reaper gives the run back (a was declared dead) and b claims it with a new token.
        #expect(try postgres.psql("UPDATE run SET state = 'queued', owner_node = NULL WHERE id = \(first.runID)").status == 0)
        try await postgres.withNode("b", user: "renkei_b") { nodeB, sessionB in
        let second = try #require(try await RunClaims.claimNext(sessionB, node: nodeB.incarnation))
        #expect(second.runID == first.runID)
        #expect(second.claim > first.claim)

        // a wakes up and records its result under the old token: refused.
        #expect(try await RunClaims.finish(sessionA, first, state: .succeeded, exitStatus: 0) == false)
        #expect(try await RunClaims.finish(sessionB, second, state: .failed, exitStatus: 3) == true)
        #expect(try await RunClaims.finish(sessionB, second, state: .succeeded, exitStatus: 0) == false)
        let row = try postgres.psql("SELECT state, exit_status, owner_node = '\(nodeB.incarnation)' FROM run")
        #expect(row.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "failed|3|t")
        }
        }
    }

    @Test("a job runs once at a time across the nodes: its next queued run waits until the running one ends, even when claimed in a race")
    func aJobRunsOnceAtATimeAcrossNodes() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try postgres.queue(runs: 3)
        try await postgres.withNode("a", user: "renkei_a") { nodeA, sessionA in
        try await postgres.withNode("b", user: "renkei_b") { nodeB, sessionB in
        async let byA = RunClaims.claimNext(sessionA, node: nodeA.incarnation)
        async let byB = RunClaims.claimNext(sessionB, node: nodeB.incarnation)
        let claims = try await [byA, byB].compactMap { $0 }
        #expect(claims.count == 1, "two runs of one job were claimed at once: \(claims)")
        #expect(try await RunClaims.claimNext(sessionB, node: nodeB.incarnation) == nil)
        // Behind the claim's back, a second running run of the job is refused by the database.
        let second = try postgres.psql("UPDATE run SET state = 'running' WHERE state = 'queued' AND logical_time = (SELECT min(logical_time) FROM run WHERE state = 'queued')")
        #expect(second.status != 0 && second.stderr.contains("run_one_running_per_job"), "\(second.stdout) \(second.stderr)")

        let first = try #require(claims.first)
        let session = first.runID == (try await byA)?.runID ? sessionA : sessionB
        #expect(try await RunClaims.finish(session, first, state: .succeeded, exitStatus: 0))
        let next = try #require(try await RunClaims.claimNext(sessionB, node: nodeB.incarnation))
        #expect(next.runID != first.runID)
        }
        }
    }

    @Test func aNodeNameAliveTwiceIsRefused() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withNode("a", user: "renkei_a") { _, _ in
            try await postgres.withSession(user: "renkei_b") { other in
                do {
                    try await NodeRegistration(name: "a").register(other, host: "other", pid: 1)
                    Issue.record("a second alive 'a' was registered")
                } catch let problem as PostgresProblem {
                    #expect(problem.description.contains("node name 'a' is already alive"), "\(problem)")
                }
            }
        }
    }
}
