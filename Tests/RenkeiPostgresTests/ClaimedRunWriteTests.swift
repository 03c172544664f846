import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// The owner's writes of a claimed run (steps, output tails, error line, end) on a real
/// PostgreSQL 15: written while the claim is the run's, refused once the run was taken away.
@Suite(.serialized) struct ClaimedRunWriteTests {
    /// One queued run with two pending steps, as the leader records it.
    private func queueRunWithSteps(_ postgres: ScratchPostgres) throws {
        let insert = try postgres.psql("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
            VALUES ('juki-to-fukushi', 1764538200, 'Asia/Tokyo', 'schedule', 1, 'queued', 'abc', '{}', '{}', now());
            INSERT INTO step (run_id, position, name, state, command, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes)
            SELECT id, p, CASE p WHEN 0 THEN 'export' ELSE 'deliver' END, 'pending', '[]', '', '', 0, 0
            FROM run, generate_series(0, 1) AS p
            """)
        #expect(insert.status == 0, "\(insert.stderr)")
    }

    private func tail(_ text: String) -> OutputTail {
        var tail = OutputTail()
        tail.append(Array(text.utf8))
        return tail
    }

    private func steps(_ postgres: ScratchPostgres) throws -> String {
        try postgres.psql("""
            SELECT position, state, command, coalesce(pid, 0), coalesce(exit_status, -1), coalesce(message, ''),
                   rtrim(convert_from(stdout_tail, 'UTF8'), E'\\n'), rtrim(convert_from(stderr_tail, 'UTF8'), E'\\n'), stdout_bytes
            FROM step ORDER BY position
            """).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theOwnersStepWritesAreRecorded() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try queueRunWithSteps(postgres)
        try await postgres.withNode("a", user: "renkei_a") { node, session in
            let claim = try #require(try await RunClaims.claimNext(session, node: node.incarnation))
            #expect(try await ClaimedRunWrites.stepStarted(session, claim, position: 0, command: ["/usr/local/lib/renkei/juki-export", "--date", "2026-12-01"], at: Date()) == .written)
            #expect(try await ClaimedRunWrites.stepSpawned(session, claim, position: 0, pid: 4242, process: "4242@123") == .written)
            #expect(try await ClaimedRunWrites.outputTails(session, claim, position: 0, stdout: tail("exported 10\n"), stderr: tail("")) == .written)
            #expect(try await ClaimedRunWrites.stepFinished(session, claim, position: 0, termination: .exited(0),
                                                            stdout: tail("exported 12\n"), stderr: tail(""), at: Date()) == .written)
            #expect(try await ClaimedRunWrites.stepStarted(session, claim, position: 1, command: ["deliver"], at: Date()) == .written)
            #expect(try await ClaimedRunWrites.stepFinished(session, claim, position: 1, termination: .exited(3),
                                                            stdout: tail(""), stderr: tail("target refused record 7\n"), at: Date()) == .written)
            #expect(try await ClaimedRunWrites.errorLine(session, claim, errorClass: .exit, message: "step deliver: exit status 3", failedStep: "deliver") == .written)
            #expect(try await RunClaims.finish(session, claim, state: .failed, exitStatus: 3))

            let recorded = try steps(postgres)
            #expect(recorded == """
                0|succeeded|["/usr/local/lib/renkei/juki-export","--date","2026-12-01"]|4242|0||exported 12||12
                1|failed|["deliver"]|0|3|exit status 3||target refused record 7|0
                """, "\(recorded)")
            let run = try postgres.psql("SELECT state, error_class, error_message, failed_step, exit_status FROM run")
            #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "failed|exit|step deliver: exit status 3|deliver|3")

            // A step the run does not have is a caller's bug, not a lost claim.
            #expect(try postgres.psql("UPDATE run SET state = 'running'").status == 0)
            await #expect(throws: PostgresProblem.self) {
                _ = try await ClaimedRunWrites.stepStarted(session, claim, position: 9, command: ["x"], at: Date())
            }
        }
    }

    @Test func afterTheReaperTookTheRunTheOldOwnerWritesNothingAndTheNewOneDoes() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try queueRunWithSteps(postgres)
        try await postgres.withNode("a", user: "renkei_a") { nodeA, sessionA in
        let old = try #require(try await RunClaims.claimNext(sessionA, node: nodeA.incarnation))
        #expect(try await ClaimedRunWrites.stepStarted(sessionA, old, position: 0, command: ["export"], at: Date()) == .written)

        // Node a is declared dead and its run given back to the queue (as RunClaimTests does),
        // its step reset; b claims it with a new token.
        #expect(try postgres.psql("""
            UPDATE node SET state = 'dead' WHERE incarnation = '\(nodeA.incarnation)';
            UPDATE run SET state = 'queued', owner_node = NULL;
            UPDATE step SET state = 'pending', command = '[]', started_at = NULL
            """).status == 0)
        let before = try steps(postgres)

        try await postgres.withNode("b", user: "renkei_b") { nodeB, sessionB in
        let new = try #require(try await RunClaims.claimNext(sessionB, node: nodeB.incarnation))
        #expect(new.runID == old.runID && new.claim > old.claim)

        // a wakes up: every write it makes under its old claim changes nothing.
        #expect(try await ClaimedRunWrites.stepSpawned(sessionA, old, position: 0, pid: 999, process: nil) == .lostClaim)
        #expect(try await ClaimedRunWrites.outputTails(sessionA, old, position: 0, stdout: tail("stale\n"), stderr: tail("")) == .lostClaim)
        #expect(try await ClaimedRunWrites.stepFinished(sessionA, old, position: 0, termination: .exited(0), stdout: tail("stale\n"), stderr: tail(""), at: Date()) == .lostClaim)
        #expect(try await ClaimedRunWrites.stepStarted(sessionA, old, position: 1, command: ["stale"], at: Date()) == .lostClaim)
        #expect(try await ClaimedRunWrites.errorLine(sessionA, old, errorClass: .exit, message: "stale", failedStep: "export") == .lostClaim)
        #expect(try await RunClaims.finish(sessionA, old, state: .succeeded, exitStatus: 0) == false)
        #expect(try steps(postgres) == before)
        #expect(try postgres.psql("SELECT state, error_message IS NULL, owner_node = '\(nodeB.incarnation)' FROM run").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines) == "running|t|t")

        // b's writes go through.
        #expect(try await ClaimedRunWrites.stepStarted(sessionB, new, position: 0, command: ["export"], at: Date()) == .written)
        #expect(try await ClaimedRunWrites.stepFinished(sessionB, new, position: 0, termination: .exited(0), stdout: tail("fresh\n"), stderr: tail(""), at: Date()) == .written)
        #expect(try steps(postgres).hasPrefix("0|succeeded|[\"export\"]|0|0||fresh"))
        }
        }
    }

    @Test func aRunMarkedInterruptedUnderAStepWriteIsNotWrittenAfterIt() async throws {
        // The reaper's UPDATE and the owner's step write race: the write takes the run row FOR
        // SHARE, so it waits for the reaper's uncommitted update; once that is committed, the
        // run is no longer the claim's and the write changes nothing.
        let postgres = try await ScratchPostgres().migrated()
        try queueRunWithSteps(postgres)
        try await postgres.withNode("a", user: "renkei_a") { node, session in
            let claim = try #require(try await RunClaims.claimNext(session, node: node.incarnation))
            try await postgres.withSession(name: "observer") { observer in
            try await postgres.withSession(name: "reaper") { reaper in
                try await reaper.execute("BEGIN", doing: "reaping")
                try await reaper.run("UPDATE run SET state = 'interrupted', claim = nextval('run_claim_seq'), error_class = 'interrupted' WHERE id = \(claim.runID)", doing: "reaping")
                // Not committed yet: the owner's write must wait for this transaction.
                async let write = ClaimedRunWrites.stepStarted(session, claim, position: 0, command: ["export"], at: Date())
                let waited = try await waitUntilNodeAWaitsOnALock(observer)
                try await reaper.execute("COMMIT", doing: "reaping")
                #expect(try await write == .lostClaim)
                #expect(waited, "the step write did not wait for the reaper's uncommitted update of the run")
            }
            }
            #expect(try steps(postgres).hasPrefix("0|pending|[]|"))
        }
    }

    /// Polls pg_stat_activity until node a's session waits on a lock: true; false after 500
    /// polls (the write did not wait; the test then fails on what it wrote, not on a clock).
    private func waitUntilNodeAWaitsOnALock(_ observer: PostgresSession) async throws -> Bool {
        for _ in 0..<500 {
            let rows = try await observer.run("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'node a' AND wait_event_type = 'Lock'",
                                              doing: "watching node a")
            if try rows[0].decode(Int64.self) > 0 { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
