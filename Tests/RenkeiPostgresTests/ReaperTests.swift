import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// The leader's dead-node reaper on a real PostgreSQL 15: nodes that beat stay, silent ones are
/// declared dead and their runs interrupted, never right after an election or a restart, never
/// by a deposed leader.
@Suite(.serialized) struct ReaperTests {
    /// Dead after 3s, a lease that runs out after 3s (for the deposed leader).
    static let quick = LeaderLeaseTests.quick
    /// Dead after 10s under a 60s lease: a stall of a loaded machine between the leader's renewal
    /// and its sweep cannot depose it, nor one between a node's beat and the sweep reap the node.
    static let quickDeath = try! ClusterTimings(
        leaseTTL: .init(seconds: 60), leaseRenewal: .init(seconds: 15), leaseMargin: .init(seconds: 5),
        heartbeat: .init(seconds: 1), deadAfter: .init(seconds: 10), selfFenceAfter: .init(seconds: 5),
        killGrace: .init(seconds: 2), retryGrace: .init(seconds: 2)).validated()
    /// Dead after 10s: long enough that "just elected" / "just restarted" stays true between two
    /// statements on a loaded machine.
    static let slow = try! ClusterTimings(
        leaseTTL: .init(seconds: 60), leaseRenewal: .init(seconds: 15), leaseMargin: .init(seconds: 5),
        heartbeat: .init(seconds: 1), deadAfter: .init(seconds: 10), selfFenceAfter: .init(seconds: 5),
        killGrace: .init(seconds: 2), retryGrace: .init(seconds: 2)).validated()

    /// A node registered on its own session, with one claimed running run of `job` (a running
    /// step `fetch`, a pending step `load`).
    struct Worker {
        let node: NodeRegistration
        let session: PostgresSession
        let claim: RunClaim
    }

    private func withWorker(_ postgres: ScratchPostgres, _ name: String, job: String, time: Int64,
                            _ body: (Worker) async throws -> Void) async throws {
        try await postgres.withSession(user: name == "a" ? "renkei_a" : "renkei_b", name: "node \(name)") { session in
            let node = NodeRegistration(name: name)
            try await node.register(session, host: "localhost", pid: getpid())
            let queued = try postgres.psql("""
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
                VALUES ('\(job)', \(time), 'Asia/Tokyo', 'schedule', 1, 'queued', 'abc', '{}', '{}', now())
                """)
            #expect(queued.status == 0, "\(queued.stderr)")
            let claim = try #require(try await RunClaims.claimNext(session, node: node.incarnation))
            let steps = try postgres.psql("""
                INSERT INTO step (run_id, position, name, state, command, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes)
                VALUES (\(claim.runID), 0, 'fetch', 'running', 'fetch.sh', '', '', 0, 0),
                       (\(claim.runID), 1, 'load', 'pending', 'load.sh', '', '', 0, 0)
                """)
            #expect(steps.status == 0, "\(steps.stderr)")
            try await body(Worker(node: node, session: session, claim: claim))
        }
    }

    /// The leader's lease and its session.
    private func withLeader(_ postgres: ScratchPostgres, _ timings: ClusterTimings,
                            _ body: (DeadNodeReaper, PostgresSession, LeaderLease.Term) async throws -> Void) async throws {
        try await postgres.withSession(user: "renkei_a", name: "leader") { session in
            let lease = LeaderLease(holder: UUID(), timings: timings)
            let term = try #require(try await lease.acquireOrRenew(session))
            try await body(DeadNodeReaper(lease: lease, timeZone: TimeZone(identifier: "Asia/Tokyo")!), session, term)
        }
    }

    /// Waits (generously) until PostgreSQL has been up for `timings.deadAfter`.
    private func waitForUptime(_ postgres: ScratchPostgres, _ timings: ClusterTimings) async throws {
        for _ in 0..<600 {
            let up = try postgres.psql("SELECT now() - pg_postmaster_start_time() >= interval '\(timings.deadAfter.seconds) seconds'")
            if up.stdout.hasPrefix("t") { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("PostgreSQL never reported \(timings.deadAfter) of uptime")
    }

    private func field(_ postgres: ScratchPostgres, _ sql: String) throws -> String {
        try postgres.psql(sql).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aSilentNodeIsReapedItsRunInterruptedAndItsOldClaimRefusedWhileABeatingNodeStays() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let timings = Self.quickDeath
        try await withWorker(postgres, "a", job: "juki-to-fukushi", time: 1764538200) { a in
        try await withWorker(postgres, "b", job: "zei-to-kokuho", time: 1764538260) { b in
        try await withLeader(postgres, timings) { reaper, session, term in
            let heartA = NodeHeartbeat(node: a.node)
            var reaping: DeadNodeReaper.Reaping?
            // a beats and the leader renews and sweeps, until b (which never beats) is declared.
            for _ in 0..<300 where reaping == nil {
                guard case .alive = await heartA.beat(a.session) else { Issue.record("a's heartbeat failed"); return }
                _ = try #require(try await reaper.lease.acquireOrRenew(session))
                switch try await reaper.sweep(session, epoch: term.epoch) {
                case .fenced(let refusal): Issue.record("the leader was fenced: \(refusal)"); return
                case .written(.tooSoon): break
                case .written(.reaped(let swept)):
                    #expect(!swept.declared.contains { $0.name == "a" }, "the beating node a was declared dead")
                    if !swept.declared.isEmpty { reaping = swept }
                }
                if reaping == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            let swept = try #require(reaping)
            #expect(swept.declared.map(\.incarnation) == [b.node.incarnation])
            #expect(swept.interrupted == [.init(runID: b.claim.runID, job: "zei-to-kokuho", logicalTime: 1764538260, attempt: 1, node: "b")])
            #expect(swept.declaredAt.timeIntervalSince(swept.declared[0].lastHeartbeat) >= Double(timings.deadAfter.seconds))
            #expect(abs(swept.retryNotBefore.timeIntervalSince(swept.declaredAt) - Double(timings.retryGrace.seconds)) < 0.001)

            #expect(try field(postgres, "SELECT node_name, state FROM node ORDER BY node_name") == "a|alive\nb|dead")
            #expect(try field(postgres, "SELECT state FROM run WHERE id = \(a.claim.runID)") == "running")
            let run = try field(postgres, "SELECT state, error_class, failed_step, finished_at IS NOT NULL, error_message FROM run WHERE id = \(b.claim.runID)")
            let parts = run.split(separator: "|", maxSplits: 4).map(String.init)
            #expect(parts.prefix(4) == ["interrupted", "interrupted", "fetch", "t"], "\(run)")
            let heartbeatClock = DeadNodeReaper.clock(swept.declared[0].lastHeartbeat, in: TimeZone(identifier: "Asia/Tokyo")!)
            #expect(parts.last == "node b (incarnation \(b.node.incarnation.uuidString.lowercased())) stopped heartbeating at \(heartbeatClock); run interrupted by the leader and retried on another node if the job's retry policy allows; check that node's journal (journalctl -u renkeid) and the target system before rerunning")
            #expect(try field(postgres, "SELECT string_agg(name || ':' || state, ',' ORDER BY position) FROM step WHERE run_id = \(b.claim.runID)") == "fetch:interrupted,load:not_run")

            // b wakes up: its heartbeat is refused and its old claim writes nothing.
            guard case .declaredDead = await NodeHeartbeat(node: b.node).beat(b.session) else { Issue.record("the reaped node's heartbeat went through"); return }
            #expect(try await RunClaims.finish(b.session, b.claim, state: .succeeded, exitStatus: 0) == false)
            #expect(try field(postgres, "SELECT state, exit_status IS NULL FROM run WHERE id = \(b.claim.runID)") == "interrupted|t")
            // a finishes its own run as usual.
            #expect(try await RunClaims.finish(a.session, a.claim, state: .succeeded, exitStatus: 0))
        }
        }
        }
    }

    @Test func noNodeIsReapedRightAfterTheLeadersElectionEvenOneSilentForAnHour() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let timings = Self.slow
        try await waitForUptime(postgres, timings)
        try await withWorker(postgres, "b", job: "zei-to-kokuho", time: 1764538260) { b in
            #expect(try postgres.psql("UPDATE node SET heartbeat_at = now() - interval '1 hour'").status == 0)
            try await withLeader(postgres, timings) { reaper, session, term in
                let first = try await reaper.sweep(session, epoch: term.epoch)
                guard case .written(.tooSoon(.electedRecently(let acquiredAt, let from))) = first else {
                    Issue.record("a sweep right after the election came to \(first)"); return
                }
                #expect(acquiredAt == term.acquiredAt)
                #expect(abs(from.timeIntervalSince(acquiredAt) - Double(timings.deadAfter.seconds)) < 0.001)
                #expect(first.tooSoonText?.contains("no node declared dead yet: this node became leader at") == true)
                #expect(try field(postgres, "SELECT n.state, r.state FROM node n JOIN run r ON r.owner_node = n.incarnation") == "alive|running")

                // Once it has led for --dead-after (moved back here rather than waited for), it reaps.
                #expect(try postgres.psql("UPDATE lease SET acquired_at = acquired_at - interval '10 seconds'").status == 0)
                guard case .written(.reaped(let swept)) = try await reaper.sweep(session, epoch: term.epoch) else {
                    Issue.record("the leader did not reap after leading for --dead-after"); return
                }
                #expect(swept.declared.map(\.incarnation) == [b.node.incarnation])
                #expect(swept.interrupted.map(\.runID) == [b.claim.runID])
            }
        }
    }

    @Test func noNodeIsReapedRightAfterAPostgresRestart() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let timings = Self.slow
        let b = NodeRegistration(name: "b")
        try await postgres.withSession(user: "renkei_b", name: "node b") { session in
            try await b.register(session, host: "localhost", pid: getpid())
        }
        // Silent for an hour, and the leader has led for an hour: only the restart holds it back.
        #expect(try postgres.psql("UPDATE node SET heartbeat_at = now() - interval '1 hour'").status == 0)
        try postgres.restart()
        try await withLeader(postgres, timings) { reaper, session, term in
            #expect(try postgres.psql("UPDATE lease SET acquired_at = acquired_at - interval '1 hour'").status == 0)
            let first = try await reaper.sweep(session, epoch: term.epoch)
            guard case .written(.tooSoon(.databaseRestartedRecently)) = first else {
                Issue.record("a sweep right after a restart came to \(first)"); return
            }
            #expect(first.tooSoonText?.contains("PostgreSQL started at") == true)
            #expect(try field(postgres, "SELECT state FROM node") == "alive")

            // After --dead-after of uptime, the same silent node is reaped.
            try await waitForUptime(postgres, timings)
            _ = try #require(try await reaper.lease.acquireOrRenew(session))
            guard case .written(.reaped(let swept)) = try await reaper.sweep(session, epoch: term.epoch) else {
                Issue.record("the leader did not reap after --dead-after of uptime"); return
            }
            #expect(swept.declared.map(\.incarnation) == [b.incarnation])
        }
    }

    @Test func aDeposedLeadersSweepIsFencedAndChangesNothing() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let timings = Self.quick
        try await waitForUptime(postgres, Self.quickDeath)  // the new leader reaps with its dead-after
        try await withWorker(postgres, "b", job: "zei-to-kokuho", time: 1764538260) { b in
            #expect(try postgres.psql("UPDATE node SET heartbeat_at = now() - interval '1 hour'").status == 0)
            try await withLeader(postgres, timings) { old, oldSession, oldTerm in
                #expect(try postgres.psql("UPDATE lease SET acquired_at = acquired_at - interval '1 hour'").status == 0)
                try await postgres.withSession(user: "renkei_b", name: "new leader") { newSession in
                    // The old leader stops renewing; the new one takes the lease when it runs out.
                    let newLease = LeaderLease(holder: UUID(), timings: Self.quickDeath)
                    var newTerm: LeaderLease.Term?
                    for _ in 0..<200 where newTerm == nil {
                        newTerm = try await newLease.acquireOrRenew(newSession)
                        if newTerm == nil { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    let taken = try #require(newTerm)

                    guard case .fenced(let refusal) = try await old.sweep(oldSession, epoch: oldTerm.epoch) else {
                        Issue.record("the deposed leader's sweep went through"); return
                    }
                    #expect(refusal.currentEpoch == taken.epoch)
                    #expect(try field(postgres, "SELECT n.state, r.state FROM node n JOIN run r ON r.owner_node = n.incarnation") == "alive|running")

                    // The new leader, once it has led for --dead-after, reaps b.
                    #expect(try postgres.psql("UPDATE lease SET acquired_at = acquired_at - interval '1 hour'").status == 0)
                    let reaper = DeadNodeReaper(lease: newLease)
                    guard case .written(.reaped(let swept)) = try await reaper.sweep(newSession, epoch: taken.epoch) else {
                        Issue.record("the new leader did not reap"); return
                    }
                    #expect(swept.interrupted.map(\.runID) == [b.claim.runID])
                }
            }
        }
    }
    /// A node already dead (marked by an earlier sweep that did not get to its runs, or by hand)
    /// still owning a running run: the next sweep interrupts it, and the dead node claims nothing.
    @Test func runsOfANodeAlreadyDeadAreInterruptedAndADeadNodeClaimsNothing() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let timings = Self.quickDeath
        try await waitForUptime(postgres, timings)
        try await withWorker(postgres, "b", job: "zei-to-kokuho", time: 1764538260) { b in
            #expect(try postgres.psql("UPDATE node SET state = 'dead'").status == 0)
            #expect(try postgres.psql("""
                INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
                VALUES ('zei-to-kokuho', 1764538320, 'Asia/Tokyo', 'schedule', 1, 'queued', 'abc', '{}', '{}', now())
                """).status == 0)
            #expect(try await RunClaims.claimNext(b.session, node: b.node.incarnation) == nil, "a dead node claimed a run")
            try await withLeader(postgres, timings) { reaper, session, term in
                #expect(try postgres.psql("UPDATE lease SET acquired_at = acquired_at - interval '1 hour'").status == 0)
                guard case .written(.reaped(let swept)) = try await reaper.sweep(session, epoch: term.epoch) else {
                    Issue.record("the leader did not sweep"); return
                }
                #expect(swept.declared.isEmpty)
                #expect(swept.interrupted.map(\.runID) == [b.claim.runID])
                #expect(try field(postgres, "SELECT state FROM run WHERE id = \(b.claim.runID)") == "interrupted")
                #expect(try await RunClaims.finish(b.session, b.claim, state: .succeeded, exitStatus: 0) == false)
            }
        }
    }
}

extension Fenced where Result == DeadNodeReaper.Sweep {
    var tooSoonText: String? {
        if case .written(.tooSoon(let reason)) = self { return reason.description }
        return nil
    }
}
