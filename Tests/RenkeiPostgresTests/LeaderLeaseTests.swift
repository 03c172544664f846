import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// The leader lease and its fencing on a real PostgreSQL 15: two nodes (two incarnations, two
/// connections, as two renkeid would have), the database's clock as the only judge.
@Suite(.serialized) struct LeaderLeaseTests {
    /// Short enough that a test waits seconds for a real expiry; still valid timings.
    static let quick = try! ClusterTimings(
        leaseTTL: .init(seconds: 3), leaseRenewal: .init(seconds: 1), leaseMargin: .init(seconds: 1),
        heartbeat: .init(seconds: 1), deadAfter: .init(seconds: 3), selfFenceAfter: .init(seconds: 2),
        killGrace: .init(seconds: 1), retryGrace: .init(seconds: 1)).validated()

    /// For tests where no lease may expire: a 2-minute TTL outlasts any stall of a loaded test
    /// machine (with `quick`, a 3 s stall between two renewals once let the other node take it).
    static let patient = try! ClusterTimings(
        leaseTTL: .init(seconds: 120), leaseRenewal: .init(seconds: 30), leaseMargin: .init(seconds: 5),
        heartbeat: .init(seconds: 10), deadAfter: .init(seconds: 30), selfFenceAfter: .init(seconds: 20),
        killGrace: .init(seconds: 10), retryGrace: .init(seconds: 10)).validated()

    struct Node {
        let lease: LeaderLease
        let session: PostgresSession
    }

    /// Two nodes on a migrated scratch database; their sessions are closed however `body` ends.
    private func withCluster(_ timings: ClusterTimings = quick,
                             _ body: (ScratchPostgres, Node, Node) async throws -> Void) async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a", name: "node a") { sessionA in
            try await postgres.withSession(user: "renkei_b", name: "node b") { sessionB in
                try await body(postgres, Node(lease: LeaderLease(holder: UUID(), timings: timings), session: sessionA),
                               Node(lease: LeaderLease(holder: UUID(), timings: timings), session: sessionB))
            }
        }
    }

    /// A slot row written under the lease: what a leader's tick writes.
    private func recordSlot(_ node: Node, epoch: Int64, time: Int64) async throws -> Fenced<Int> {
        try await node.lease.fencedWrite(node.session, epoch: epoch, doing: "recording a slot") {
            let rows = try await node.session.run("""
                INSERT INTO slot (job, logical_time, outcome, epoch) VALUES ('juki-to-fukushi', \(time), 'queued', \(epoch))
                ON CONFLICT DO NOTHING RETURNING 1
                """, doing: "recording a slot")
            return rows.count
        }
    }

    @Test func twoNodesCompetingOnlyOneHoldsTheLease() async throws {
        try await withCluster(Self.patient) { postgres, a, b in
            _ = postgres
            for _ in 0..<20 {
                try await a.session.execute("DELETE FROM lease", doing: "clearing")
                async let termA = a.lease.acquireOrRenew(a.session)
                async let termB = b.lease.acquireOrRenew(b.session)
                let (gotA, gotB) = try await (termA, termB)
                #expect((gotA == nil) != (gotB == nil), "a: \(String(describing: gotA)) b: \(String(describing: gotB))")
                #expect((gotA ?? gotB)?.epoch == 1)
            }
        }
    }

    @Test func theHoldersRenewalsKeepItAndTheOtherIsRefused() async throws {
        try await withCluster(Self.patient) { postgres, a, b in
            _ = postgres
            let first = try #require(try await a.lease.acquireOrRenew(a.session))
            var last = first
            for _ in 0..<5 {
                #expect(try await b.lease.acquireOrRenew(b.session) == nil)
                let renewed = try #require(try await a.lease.acquireOrRenew(a.session))
                #expect(renewed.epoch == first.epoch)
                #expect(renewed.acquiredAt == first.acquiredAt)
                #expect(renewed.expiresAt >= last.expiresAt)
                last = renewed
            }
            let row = try await a.session.run("SELECT holder, epoch FROM lease WHERE role = 'scheduler'", doing: "reading")
            let (holder, epoch) = try #require(row.first).decode((UUID, Int64).self)
            #expect(holder == a.lease.holder)
            #expect(epoch == 1)
        }
    }

    @Test func afterExpiryTheOtherTakesItWithTheNextEpochAndTheOldLeadersWriteIsFenced() async throws {
        try await withCluster { postgres, a, b in
            _ = postgres
            // a leads and writes (renewing first if a stall of a loaded machine outlasted its 3 s term:
            // the same holder keeps its epoch).
            var termA = try #require(try await a.lease.acquireOrRenew(a.session))
            var first = try await recordSlot(a, epoch: termA.epoch, time: 100)
            for _ in 0..<5 where first.written != 1 {
                termA = try #require(try await a.lease.acquireOrRenew(a.session))
                first = try await recordSlot(a, epoch: termA.epoch, time: 100)
            }
            #expect(first.written == 1)
            #expect(termA.epoch == 1)

            // a stops renewing (paused, cut off); b keeps trying until the database says the lease is over.
            var termB: LeaderLease.Term?
            for _ in 0..<200 where termB == nil {
                termB = try await b.lease.acquireOrRenew(b.session)
                if termB == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let taken = try #require(termB)
            #expect(taken.epoch == termA.epoch + 1)
            #expect(taken.acquiredAt > termA.expiresAt, "taken over before the old term ended by the database's clock")

            // a wakes up and writes under its old term: nothing is written, and it is told why.
            let stale = try await recordSlot(a, epoch: termA.epoch, time: 200)
            guard case .fenced(let refusal) = stale else { Issue.record("the old leader's write went through"); return }
            #expect(refusal.currentEpoch == taken.epoch)
            #expect(refusal.description.contains("fenced: not written"))
            #expect(refusal.description.contains("the scheduler lease is now at epoch 2"))
            // Its renewal is refused too: a renewal is scoped to the holder (river#197).
            #expect(try await a.lease.acquireOrRenew(a.session) == nil)
            #expect(try await recordSlot(b, epoch: taken.epoch, time: 300).written == 1)

            let slots = try await b.session.run("SELECT logical_time, epoch FROM slot ORDER BY logical_time", doing: "reading")
            let recorded = try slots.map { try $0.decode((Int64, Int64).self) }
            #expect(recorded.map(\.0) == [100, 300])
            #expect(recorded.map(\.1) == [1, 2])
        }
    }

    @Test func aTakeoverWaitsForTheLeadersOpenFencedWriteThenGetsTheNextEpoch() async throws {
        try await withCluster { postgres, a, b in
            _ = postgres
            let termA = try #require(try await a.lease.acquireOrRenew(a.session))
            try await postgres.withSession(name: "checker") { check in
            // a's fenced transaction holds the lease row FOR SHARE while the lease runs out under it.
            let written = try await a.lease.fencedWrite(a.session, epoch: termA.epoch, doing: "a long tick") {
                try await a.session.execute("SELECT pg_sleep(3.5)", doing: "working")  // past the 3s TTL
                let takeover = Task { try await b.lease.acquireOrRenew(b.session) }
                // b's upsert is blocked by a's FOR SHARE lock; the database shows it waiting on a lock.
                var waiting = false
                for _ in 0..<100 where !waiting {
                    let rows = try await check.run("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'node b' AND wait_event_type = 'Lock'", doing: "watching")
                    waiting = try rows.first!.decode(Int64.self) == 1
                    if !waiting { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(waiting, "b's takeover did not wait for a's open transaction")
                return takeover
            }
            guard case .written(let takeover) = written else { Issue.record("a's write was fenced while it held the lease"); return }
            let termB = try await takeover.value
            #expect(termB?.epoch == termA.epoch + 1)
            }
        }
    }

    @Test func aReleasedLeaseIsTakenAtOnceWithTheNextEpoch() async throws {
        let timings = try ClusterTimings.standard.validated()  // 15s TTL: only a release frees it in time
        try await withCluster(timings) { postgres, a, b in
            _ = postgres
            let termA = try #require(try await a.lease.acquireOrRenew(a.session))
            #expect(try await b.lease.acquireOrRenew(b.session) == nil)
            #expect(try await a.lease.release(a.session, epoch: termA.epoch))
            let termB = try #require(try await b.lease.acquireOrRenew(b.session))
            #expect(termB.epoch == 2)
            #expect(try await a.lease.release(a.session, epoch: termA.epoch) == false)
            if case .written = try await recordSlot(a, epoch: termA.epoch, time: 1) { Issue.record("a wrote after releasing") }
        }
    }

    @Test func aPostgresRestartDuringAHeldLeaseMakesNoSecondLeader() async throws {
        let timings = try ClusterTimings.standard.validated()
        try await withCluster(timings) { postgres, a, b in
            let clock = ContinuousClock()
            var leadershipA = Leadership<ContinuousClock.Instant>.following
            var leadershipB = Leadership<ContinuousClock.Instant>.following

            let start = clock.now
            let termA = try #require(try await a.lease.acquireOrRenew(a.session))
            leadershipA = leadershipA.renewed(epoch: termA.epoch, attemptStart: start, timings: timings)
            #expect(leadershipA.epoch(at: clock.now) == 1)

            try postgres.restart()

            // a's connection is gone: its renewal fails, so it stops acting at once.
            do {
                _ = try await a.lease.acquireOrRenew(a.session)
                Issue.record("a renewal over a connection cut by the restart succeeded")
            } catch let problem as PostgresProblem {
                #expect(problem.kind == .connectionLost || problem.kind == .unreachable, "\(problem)")
                leadershipA = leadershipA.lost()
            }
            #expect(leadershipA.epoch(at: clock.now) == nil)

            // b reconnects and tries: the lease (a logged table) survived the restart with a's term.
            try await postgres.withSession(user: "renkei_b", name: "node b") { sessionB2 in
            try await postgres.withSession(user: "renkei_a", name: "node a") { sessionA2 in
            let b2 = Node(lease: b.lease, session: sessionB2)
            let bStart = clock.now
            if let termB = try await b2.lease.acquireOrRenew(b2.session) {
                leadershipB = leadershipB.renewed(epoch: termB.epoch, attemptStart: bStart, timings: timings)
            }
            #expect(leadershipB == .following, "b became leader while a's lease still ran")
            let row = try await b2.session.run("SELECT holder, epoch FROM lease", doing: "reading")
            let (holder, epoch) = try #require(row.first).decode((UUID, Int64).self)
            #expect(holder == a.lease.holder)
            #expect(epoch == 1)

            // a reconnects and renews its own term: same epoch, one leader.
            let a2 = Node(lease: a.lease, session: sessionA2)
            let aStart = clock.now
            let renewed = try #require(try await a2.lease.acquireOrRenew(a2.session))
            leadershipA = leadershipA.renewed(epoch: renewed.epoch, attemptStart: aStart, timings: timings)
            #expect(renewed.epoch == 1)
            #expect(leadershipA.epoch(at: clock.now) == 1)
            #expect(try await b2.lease.acquireOrRenew(b2.session) == nil)
            #expect(try await recordSlot(a2, epoch: 1, time: 500).written == 1)
            }
            }
        }
    }
}

extension Fenced {
    var written: Result? {
        if case .written(let result) = self { return result }
        return nil
    }
}
