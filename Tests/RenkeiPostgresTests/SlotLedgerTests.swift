import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// The slot ledger on a real PostgreSQL 15: only the leader records slots, each exactly once,
/// and the primary keys hold even when a second leader's fence failed.
@Suite(.serialized) struct SlotLedgerTests {
    let job = "juki-to-fukushi"
    /// 2026-12-01 06:30 +09:00 and the next two days.
    let mornings: [Int64] = [1_764_538_200, 1_764_624_600, 1_764_711_000]

    private func queued(_ time: Int64, job: String? = nil) -> LedgerSlot {
        LedgerSlot(job: job ?? self.job, logicalTime: time, zone: "Asia/Tokyo", definitionHash: "abc", outcome: .queued)
    }

    private func scalar(_ postgres: ScratchPostgres, _ sql: String) throws -> String {
        let result = try postgres.psql(sql)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A leader (lease taken, term returned) on a migrated scratch database.
    private func withLeader(_ body: (ScratchPostgres, PostgresSession, LeaderLease, Int64) async throws -> Void) async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a", name: "node a") { session in
            let lease = LeaderLease(holder: UUID(), timings: LeaderLeaseTests.patient)
            let term = try #require(try await lease.acquireOrRenew(session))
            try await body(postgres, session, lease, term.epoch)
        }
    }

    @Test func theLeaderRecordsEachSlotOnceWithItsRunAndTheCursorNeverMovesBack() async throws {
        try await withLeader { postgres, session, lease, epoch in
            guard case .written(let first) = try await SlotLedger.record(mornings.map { queued($0) }, session, lease: lease, epoch: epoch) else {
                Issue.record("the leader was fenced"); return
            }
            #expect(first.recorded.map(\.slot.logicalTime) == mornings)
            #expect(first.alreadyRecorded.isEmpty)
            #expect(try await SlotLedger.lastSlot(session, job: job) == mornings[2])
            #expect(try scalar(postgres, "SELECT count(*) FROM slot") == "3")
            #expect(try scalar(postgres, "SELECT string_agg(id || ':' || state || ':' || trigger || ':' || attempt, ',' ORDER BY logical_time) FROM run")
                    == first.recorded.map { "\($0.runID):queued:schedule:1" }.joined(separator: ","))

            // The same slots again (a tick repeated, or a new leader going over them): nothing new.
            guard case .written(let again) = try await SlotLedger.record(mornings.map { queued($0) }, session, lease: lease, epoch: epoch) else {
                Issue.record("the leader was fenced"); return
            }
            #expect(again.recorded.isEmpty)
            #expect(again.alreadyRecorded.map(\.logicalTime) == mornings)
            #expect(try scalar(postgres, "SELECT count(*) FROM run") == "3")

            // An older slot recorded late does not move the cursor back.
            guard case .written = try await SlotLedger.record([queued(mornings[0] - 86_400)], session, lease: lease, epoch: epoch) else {
                Issue.record("the leader was fenced"); return
            }
            #expect(try await SlotLedger.lastSlot(session, job: job) == mornings[2])
            #expect(try await SlotLedger.lastSlot(session, job: "never-scheduled") == nil)
        }
    }

    @Test func missedAndSkippedSlotsAreFinalRunsWithTheirReason() async throws {
        try await withLeader { postgres, session, lease, epoch in
            let slots = [
                LedgerSlot(job: job, logicalTime: mornings[0], zone: "Asia/Tokyo", definitionHash: "abc",
                           outcome: .missed(reason: "renkeid was down at 06:30 (catch_up: skip)", errorClass: .missed)),
                LedgerSlot(job: job, logicalTime: mornings[1], zone: "Asia/Tokyo", definitionHash: "abc",
                           outcome: .skipped(reason: "the previous run was still running (overlap: skip)")),
            ]
            guard case .written(let entry) = try await SlotLedger.record(slots, session, lease: lease, epoch: epoch) else {
                Issue.record("the leader was fenced"); return
            }
            #expect(entry.recorded.count == 2)
            #expect(try scalar(postgres, "SELECT string_agg(state || '|' || coalesce(error_class, '-') || '|' || error_message || '|' || (finished_at IS NOT NULL), ';' ORDER BY logical_time) FROM run")
                    == "missed|missed|renkeid was down at 06:30 (catch_up: skip)|true;skipped|-|the previous run was still running (overlap: skip)|true")
            #expect(try scalar(postgres, "SELECT string_agg(outcome, ',' ORDER BY logical_time) FROM slot") == "missed,skipped")
            // Nothing for a node to claim.
            try await postgres.withSession(user: "renkei_b", name: "node b") { other in
                let node = NodeRegistration(name: "b")
                try await node.register(other, host: "localhost", pid: getpid())
                #expect(try await RunClaims.claimNext(other, node: node.incarnation) == nil)
            }
        }
    }

    @Test func aDeposedLeaderRecordsNothing() async throws {
        try await withLeader { postgres, session, lease, epoch in
            // Its lease ran out and node b took it (epoch 2).
            #expect(try postgres.psql("UPDATE lease SET expires_at = now() - interval '1 second'").status == 0)
            #expect(try scalar(postgres, "SELECT epoch FROM lease") == "\(epoch)")
            try await postgres.withSession(user: "renkei_b", name: "node b") { sessionB in
                let leaseB = LeaderLease(holder: UUID(), timings: LeaderLeaseTests.patient)
                let termB = try #require(try await leaseB.acquireOrRenew(sessionB))
                #expect(termB.epoch == epoch + 1)

                guard case .fenced(let refusal) = try await SlotLedger.record([queued(mornings[0])], session, lease: lease, epoch: epoch) else {
                    Issue.record("a deposed leader recorded a slot"); return
                }
                #expect(refusal.description.contains("epoch \(epoch)") && refusal.description.contains("now at epoch \(epoch + 1)"))
                #expect(try scalar(postgres, "SELECT count(*) FROM slot") == "0")
                #expect(try scalar(postgres, "SELECT count(*) FROM run") == "0")
                #expect(try await SlotLedger.lastSlot(sessionB, job: job) == nil)

                guard case .written(let entry) = try await SlotLedger.record([queued(mornings[0])], sessionB, lease: leaseB, epoch: termB.epoch) else {
                    Issue.record("the new leader was fenced"); return
                }
                #expect(entry.recorded.count == 1)
                #expect(try scalar(postgres, "SELECT epoch FROM slot") == "\(termB.epoch)")
            }
        }
    }

    /// If fencing ever failed (two nodes each believing they lead), the keys still allow one copy.
    @Test func withoutTheFenceTheKeysStillAllowOneCopyOfASlot() async throws {
        try await withLeader { postgres, session, lease, epoch in
            // The other "leader" wrote the slot and its run behind the fence's back.
            #expect(try postgres.psql("INSERT INTO slot (job, logical_time, outcome, epoch) VALUES ('\(job)', \(mornings[0]), 'queued', 99)").status == 0)
            // A first scheduled attempt whose slot row is missing (a history copied from SQLite).
            #expect(try postgres.psql("""
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
                VALUES ('\(job)', \(mornings[1]), 'Asia/Tokyo', 'schedule', 1, 'queued', 'abc', '{}', '{}', now())
                """).status == 0)
            guard case .written(let entry) = try await SlotLedger.record(mornings.map { queued($0) }, session, lease: lease, epoch: epoch) else {
                Issue.record("the leader was fenced"); return
            }
            #expect(entry.alreadyRecorded.map(\.logicalTime) == [mornings[0], mornings[1]])
            #expect(entry.recorded.map(\.slot.logicalTime) == [mornings[2]])
            #expect(try scalar(postgres, "SELECT count(*) FROM run") == "2", "a slot got a second run")

            // And the database itself refuses a second first attempt, whoever writes it.
            let second = try postgres.psql("""
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
                VALUES ('\(job)', \(mornings[2]), 'Asia/Tokyo', 'schedule', 1, 'queued', 'abc', '{}', '{}', now())
                """)
            #expect(second.status != 0)
            #expect(second.stderr.contains("run_one_scheduled_attempt"))
        }
    }

    @Test func slotsRecordedByTheLeaderAreEachClaimedOnceByTwoNodes() async throws {
        try await withLeader { postgres, session, lease, epoch in
            // A hundred jobs: one job runs once at a time across the nodes (run_one_running_per_job).
            let times = (0..<100).map { mornings[0] + Int64($0) * 60 }
            guard case .written(let entry) = try await SlotLedger.record(times.enumerated().map { queued($1, job: "link-\($0)") }, session, lease: lease, epoch: epoch) else {
                Issue.record("the leader was fenced"); return
            }
            #expect(entry.recorded.count == 100)
            try await postgres.withSession(user: "renkei_b", name: "node b") { sessionB in
                let a = NodeRegistration(name: "a"), b = NodeRegistration(name: "b")
                try await a.register(session, host: "localhost", pid: getpid())
                try await b.register(sessionB, host: "localhost", pid: getpid())
                func drain(_ session: PostgresSession, _ node: NodeRegistration) async throws -> [Int64] {
                    var taken: [Int64] = []
                    while let claim = try await RunClaims.claimNext(session, node: node.incarnation) { taken.append(claim.runID) }
                    return taken
                }
                async let byA = drain(session, a)
                async let byB = drain(sessionB, b)
                let all = try await byA + byB
                #expect(all.sorted() == entry.recorded.map(\.runID).sorted())
            }
        }
    }
}
