import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// Operators' requests as rows (issue 19, criterion 4) on a real PostgreSQL 15, with two nodes:
/// a holds the scheduler lease, b does not.
@Suite(.serialized) struct ClusterRequestTests {
    /// Node a (the leader under a 2-minute lease, so no stall of a loaded machine deposes it)
    /// and node b, each on its own session.
    struct Cluster {
        let a: NodeRegistration
        let b: NodeRegistration
        let sessionA: PostgresSession
        let sessionB: PostgresSession
        let lease: LeaderLease
        let term: LeaderLease.Term
    }

    private func withCluster(_ postgres: ScratchPostgres, _ body: (Cluster) async throws -> Void) async throws {
        try await postgres.withSession(user: "renkei_a", name: "node a") { sessionA in
        try await postgres.withSession(user: "renkei_b", name: "node b") { sessionB in
            let a = NodeRegistration(name: "a"), b = NodeRegistration(name: "b")
            try await a.register(sessionA, host: "ap1", pid: getpid())
            try await b.register(sessionB, host: "ap2", pid: getpid())
            let lease = LeaderLease(holder: a.incarnation, timings: LeaderLeaseTests.patient)
            let term = try #require(try await lease.acquireOrRenew(sessionA))
            try await body(Cluster(a: a, b: b, sessionA: sessionA, sessionB: sessionB, lease: lease, term: term))
        }
        }
    }

    private func field(_ postgres: ScratchPostgres, _ sql: String) throws -> String {
        let result = try postgres.psql(sql)
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A run of juki-to-fukushi in `state`, with steps fetch and load; returns its id.
    private func run(_ postgres: ScratchPostgres, state: String, time: Int64 = 1764538200) throws -> Int64 {
        let id = try field(postgres, """
            WITH r AS (
              INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
              VALUES ('juki-to-fukushi', \(time), 'Asia/Tokyo', 'schedule', 1, '\(state)', 'abc', '{}', '{"area":"north"}', now()) RETURNING id),
            s AS (
              INSERT INTO step (run_id, position, name, state, command, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes)
              SELECT id, p, n, CASE WHEN '\(state)' IN ('queued', 'waiting') THEN 'pending' ELSE 'failed' END, c, '', '', 0, 0
              FROM r, (VALUES (0, 'fetch', '["fetch.sh"]'), (1, 'load', '["load.sh"]')) AS v(p, n, c))
            SELECT id FROM r
            """)
        return try #require(Int64(id))
    }

    private func request(_ kind: ClusterRequest.Kind, run: Int64? = nil, job: String = "juki-to-fukushi", on node: NodeRegistration) -> ClusterRequest {
        ClusterRequest(kind: kind, job: job, runID: run, reason: "welfare asked at 06:40", requestedByUid: 1001,
                       requestedByUser: "tanaka", originNode: node.incarnation)
    }

    /// What renkeid's leader would answer from its job definitions: a rerun from the top.
    private func rerunFromTheTop(_ postgres: ScratchPostgres) -> (TakenRequest) async throws -> LeaderDecision {
        { taken in
            guard let original = taken.request.runID else { return .act }
            let time = try #require(Int64(try field(postgres, "SELECT logical_time FROM run WHERE id = \(original)")))
            return .queue(QueuedRun(job: taken.request.job, logicalTime: time, zone: "Asia/Tokyo", trigger: .rerun, definitionHash: "abc",
                                    parameters: #"{"area":"north"}"#, rerunOf: original,
                                    steps: [.init(name: "fetch", command: #"["fetch.sh"]"#), .init(name: "load", command: #"["load.sh"]"#)]))
        }
    }

    @Test func aRerunSubmittedOnBIsQueuedByTheLeaderAAndThenClaimedByB() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let failed = try run(postgres, state: "failed")
        try await withCluster(postgres) { c in
            let id = try await ClusterRequests.submit(request(.rerun, run: failed, on: c.b), c.sessionB)
            #expect(try field(postgres, "SELECT state, taken_by IS NULL, origin_node = '\(c.b.incarnation)' FROM request WHERE id = \(id)") == "pending|t|t")

            // b does not lead and runs nothing: it takes nothing, even asked for every kind.
            #expect(try await ClusterRequests.takeNext(c.sessionB, node: c.b.incarnation, kinds: Set(ClusterRequest.Kind.allCases)) == nil)

            let acted = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: rerunFromTheTop(postgres))
            guard case .written(let handling?) = acted else { Issue.record("the leader took nothing: \(acted)"); return }
            #expect(handling.request.id == id)
            #expect(handling.status.state == .done)
            let queued = try #require(handling.status.resultRunID)
            #expect(try field(postgres, """
                SELECT state, trigger, rerun_of, logical_time, requested_by_user, requested_by_uid, reason, parameters FROM run WHERE id = \(queued)
                """) == #"queued|rerun|\#(failed)|1764538200|tanaka|1001|welfare asked at 06:40|{"area":"north"}"#)
            #expect(try field(postgres, "SELECT string_agg(name || ':' || state, ',' ORDER BY position) FROM step WHERE run_id = \(queued)") == "fetch:pending,load:pending")
            #expect(try field(postgres, "SELECT state, taken_by = '\(c.a.incarnation)', result_run_id FROM request WHERE id = \(id)") == "done|t|\(queued)")

            // The requester on b hears the outcome; b then claims the run like any queued run.
            let heard = try await ClusterRequests.wait(id, c.sessionB, timeout: .seconds(5))
            guard case .finished(let status) = heard else { Issue.record("\(heard)"); return }
            #expect(status.description.contains("request \(id) done by node a: queued run \(queued) (rerun of run \(failed) of juki-to-fukushi)"), "\(status)")
            let claim = try #require(try await RunClaims.claimNext(c.sessionB, node: c.b.incarnation))
            #expect(claim.runID == queued)

            // A second rerun while that one runs is refused by the leader, naming the live run.
            let second = try await ClusterRequests.submit(request(.rerun, run: failed, on: c.b), c.sessionB)
            let refused = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: rerunFromTheTop(postgres))
            guard case .written(let refusal?) = refused else { Issue.record("\(refused)"); return }
            #expect(refusal.request.id == second && refusal.status.state == .refused)
            #expect(refusal.status.outcome?.contains("run \(queued) of juki-to-fukushi for the same logical time is still running") == true, "\(refusal.status)")
            #expect(try field(postgres, "SELECT count(*) FROM run") == "2")

            // Nothing left: the leader's next pass takes nothing.
            #expect(try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: rerunFromTheTop(postgres)).tookNothing)
        }
    }

    @Test func aCancelIsTakenByTheNodeRunningTheRunOrByTheLeaderWhileTheRunIsQueued() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let onB = try run(postgres, state: "queued", time: 1764538200)
        try await withCluster(postgres) { c in
            #expect(try await RunClaims.claimNext(c.sessionB, node: c.b.incarnation)?.runID == onB)
            let queued = try run(postgres, state: "queued", time: 1764538260)

            // A cancel of b's running run, asked on a: a takes nothing, as leader or not.
            let cancelOnB = try await ClusterRequests.submit(request(.cancel, run: onB, on: c.a), c.sessionA)
            #expect(try await ClusterRequests.takeNext(c.sessionA, node: c.a.incarnation, kinds: [.cancel]) == nil)
            #expect(try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in .act }).tookNothing)
            #expect(try field(postgres, "SELECT state, cancel_requested_at IS NULL FROM run WHERE id = \(onB)") == "running|t")

            // b takes it, and the run is marked for its run loop.
            let taken = try #require(try await ClusterRequests.takeNext(c.sessionB, node: c.b.incarnation, kinds: [.cancel]))
            #expect(taken.id == cancelOnB && taken.request.runID == onB && taken.takenBy == c.b.incarnation)
            #expect(try field(postgres, "SELECT state, cancel_requested_at IS NOT NULL FROM run WHERE id = \(onB)") == "running|t")
            let claim = RunClaim(runID: onB, claim: try #require(Int64(try field(postgres, "SELECT claim FROM run WHERE id = \(onB)"))))
            #expect(try await RunClaims.finish(c.sessionB, claim, state: .cancelled, exitStatus: nil))
            #expect(try await ClusterRequests.complete(taken, outcome: "cancelled run \(onB) on node b (steps stopped)", c.sessionB))
            #expect(try await ClusterRequests.status(cancelOnB, c.sessionA)?.description == "request \(cancelOnB) done by node b: cancelled run \(onB) on node b (steps stopped)")

            // A cancel of a queued run, asked on b: b takes nothing, the leader cancels it at once.
            let cancelQueued = try await ClusterRequests.submit(request(.cancel, run: queued, on: c.b), c.sessionB)
            #expect(try await ClusterRequests.takeNext(c.sessionB, node: c.b.incarnation, kinds: [.cancel]) == nil)
            let acted = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in .act })
            guard case .written(let handling?) = acted else { Issue.record("\(acted)"); return }
            #expect(handling.request.id == cancelQueued && handling.status.state == .done)
            #expect(try field(postgres, "SELECT state, finished_at IS NOT NULL, error_message FROM run WHERE id = \(queued)")
                    == "cancelled|t|cancelled by tanaka before it started")
            #expect(try field(postgres, "SELECT string_agg(state, ',' ORDER BY position) FROM step WHERE run_id = \(queued)") == "not_run,not_run")
            #expect(try await RunClaims.claimNext(c.sessionB, node: c.b.incarnation) == nil)

            // A cancel of a run that has ended is refused by the leader, saying so.
            let late = try await ClusterRequests.submit(request(.cancel, run: onB, on: c.b), c.sessionB)
            let refused = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in .act })
            guard case .written(let refusal?) = refused else { Issue.record("\(refused)"); return }
            #expect(refusal.request.id == late)
            #expect(refusal.status.description == "request \(late) refused by node a: run \(onB) has already ended (cancelled); nothing to cancel")
        }
    }

    @Test func twoTakersRacingTakeEachOfTwoHundredRequestsOnce() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await withCluster(postgres) { c in
            #expect(try postgres.psql("""
                INSERT INTO request (kind, job, requested_by_uid, requested_by_user, origin_node)
                SELECT 'hold', 'job-' || n, 1001, 'tanaka', '\(c.b.incarnation)' FROM generate_series(1, 200) AS n
                """).status == 0)
            // Both behave as leaders (the fence is the caller's; this is the backstop if it failed).
            func drain(_ session: PostgresSession, _ node: NodeRegistration) async throws -> [Int64] {
                var taken: [Int64] = []
                while let next = try await ClusterRequests.takeNext(session, node: node.incarnation, kinds: [.hold], leading: true) {
                    taken.append(next.id)
                }
                return taken
            }
            async let byA = drain(c.sessionA, c.a)
            async let byB = drain(c.sessionB, c.b)
            let (takenA, takenB) = try await (byA, byB)
            #expect(takenA.count + takenB.count == 200)
            #expect(Set(takenA + takenB).count == 200, "a request was taken twice")
            #expect(!takenA.isEmpty && !takenB.isEmpty, "one taker took everything: a \(takenA.count), b \(takenB.count)")
            #expect(try field(postgres, """
                SELECT count(*) FILTER (WHERE taken_by = '\(c.a.incarnation)'), count(*) FILTER (WHERE taken_by = '\(c.b.incarnation)'),
                       count(*) FILTER (WHERE state <> 'taken') FROM request
                """) == "\(takenA.count)|\(takenB.count)|0")
        }
    }

    @Test func aDeposedLeaderTakesNoRequestAndTheNewLeaderDoes() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let failed = try run(postgres, state: "failed")
        try await withCluster(postgres) { c in
            let rerun = try await ClusterRequests.submit(request(.rerun, run: failed, on: c.b), c.sessionB)
            // a's term runs out (a stall past the TTL) and b takes the lease: epoch 2.
            #expect(try postgres.psql("UPDATE lease SET expires_at = now() - interval '1 second'").status == 0)
            let leaseB = LeaderLease(holder: c.b.incarnation, timings: LeaderLeaseTests.patient)
            let termB = try #require(try await leaseB.acquireOrRenew(c.sessionB))
            #expect(termB.epoch == c.term.epoch + 1)

            var asked = false
            let stale = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in
                asked = true
                return .refuse("a deposed leader decided")
            })
            guard case .fenced(let refusal) = stale else { Issue.record("a deposed leader acted: \(stale)"); return }
            #expect(refusal.description.contains("the scheduler lease is now at epoch \(termB.epoch)"), "\(refusal)")
            #expect(!asked)
            #expect(try field(postgres, "SELECT state, taken_by IS NULL FROM request WHERE id = \(rerun)") == "pending|t")
            #expect(try field(postgres, "SELECT count(*) FROM run") == "1")

            let fresh = try await ClusterRequests.actAsLeader(c.sessionB, lease: leaseB, epoch: termB.epoch, decide: rerunFromTheTop(postgres))
            guard case .written(let handling?) = fresh else { Issue.record("the new leader took nothing: \(fresh)"); return }
            #expect(handling.request.id == rerun && handling.status.state == .done && handling.status.takenByName == "b")
        }
    }

    @Test func aRequestTakenByANodeDeclaredDeadGoesBackToPendingAndAnotherNodeFinishesIt() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let onB = try run(postgres, state: "queued")
        try await withCluster(postgres) { c in
            #expect(try await RunClaims.claimNext(c.sessionB, node: c.b.incarnation)?.runID == onB)
            let id = try await ClusterRequests.submit(request(.cancel, run: onB, on: c.a), c.sessionA)
            let taken = try #require(try await ClusterRequests.takeNext(c.sessionB, node: c.b.incarnation, kinds: [.cancel]))

            // Nothing to give back while b is alive.
            #expect(try await ClusterRequests.requeueTakenByDeadNodes(c.sessionA) == [])
            // b stops heartbeating; the reaper declares it dead and interrupts its run.
            #expect(try postgres.psql("UPDATE node SET state = 'dead' WHERE incarnation = '\(c.b.incarnation)'").status == 0)
            #expect(try postgres.psql("UPDATE run SET state = 'interrupted', finished_at = now() WHERE id = \(onB)").status == 0)
            #expect(try await ClusterRequests.requeueTakenByDeadNodes(c.sessionA) == [id])
            #expect(try field(postgres, "SELECT state, taken_by IS NULL, taken_at IS NULL FROM request WHERE id = \(id)") == "pending|t|t")
            // A dead node takes nothing, and its late answer is not recorded.
            #expect(try await ClusterRequests.takeNext(c.sessionB, node: c.b.incarnation, kinds: [.cancel], leading: true) == nil)
            #expect(try await ClusterRequests.complete(taken, outcome: "cancelled on b", c.sessionB) == false)

            let acted = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in .act })
            guard case .written(let handling?) = acted else { Issue.record("\(acted)"); return }
            #expect(handling.request.id == id)
            #expect(handling.status.description == "request \(id) refused by node a: run \(onB) has already ended (interrupted); nothing to cancel")
        }
    }

    @Test func theRequesterHearsTheOutcomeOrTimesOutCleanlyAndMayWithdraw() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await withCluster(postgres) { c in
            let hold = try await ClusterRequests.submit(request(.hold, on: c.b), c.sessionB)
            // Nobody acts: the wait ends with the request still pending, and says what to check.
            let waited = try await ClusterRequests.wait(hold, c.sessionB, timeout: .milliseconds(600), every: .milliseconds(100))
            guard case .timedOut(let status, _) = waited else { Issue.record("\(waited)"); return }
            #expect(status.state == .pending)
            #expect(waited.description.contains("request \(hold) (hold juki-to-fukushi) still pending after 0 s: no node has taken it (a hold is taken by the leader)"), "\(waited)")

            // The leader acts while the requester waits: the wait returns the outcome.
            async let heard = ClusterRequests.wait(hold, c.sessionB, timeout: .seconds(60), every: .milliseconds(50))
            let acted = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in .act })
            guard case .written(_?) = acted else { Issue.record("\(acted)"); return }
            let outcome = try await heard
            #expect(outcome.description == "request \(hold) done by node a: held juki-to-fukushi: no new run of it starts on any node until renkeictl release juki-to-fukushi")
            #expect(try field(postgres, "SELECT held_by, reason FROM hold") == "tanaka|welfare asked at 06:40")

            // A request withdrawn before any node took it is never acted on.
            let release = try await ClusterRequests.submit(request(.release, on: c.b), c.sessionB)
            #expect(try await ClusterRequests.withdraw(release, node: c.b.incarnation, c.sessionB))
            #expect(try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: { _ in .act }).tookNothing)
            #expect(try field(postgres, "SELECT count(*) FROM hold") == "1")
            #expect(try await ClusterRequests.withdraw(hold, node: c.b.incarnation, c.sessionB) == false)

            do {
                _ = try await ClusterRequests.wait(9999, c.sessionB, timeout: .seconds(1))
                Issue.record("waiting for a request that does not exist returned")
            } catch let problem as ClusterRequestProblem {
                #expect(problem.description.hasPrefix("there is no request 9999 in postgresql:///renkei"), "\(problem)")
            }
        }
    }

    struct AuditRefused: Error {}


    @Test func aRequestCommitsWithItsAuditRowOrNotAtAll() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let failed = try run(postgres, state: "failed")
        try await withCluster(postgres) { c in
            func appendAudit(_ session: PostgresSession, _ what: String) async throws {
                try await session.run("""
                    INSERT INTO audit (at, uid, "user", pid, request, result, previous_hash, hash)
                    VALUES (now(), 1001, 'tanaka', 4242, \(what), 'accepted', '', 'h')
                    """, doing: "appending the audit row")
            }
            do {
                _ = try await ClusterRequests.submit(request(.rerun, run: failed, on: c.b), c.sessionB) { session, id in
                    try await appendAudit(session, "rerun \(failed) (request \(id))")
                    throw AuditRefused()
                }
                Issue.record("a request whose audit row failed was written")
            } catch is AuditRefused {}
            #expect(try field(postgres, "SELECT (SELECT count(*) FROM request) || '|' || (SELECT count(*) FROM audit)") == "0|0")

            let id = try await ClusterRequests.submit(request(.rerun, run: failed, on: c.b), c.sessionB) { session, id in
                try await appendAudit(session, "rerun \(failed) (request \(id))")
            }
            #expect(try field(postgres, "SELECT request FROM audit") == "rerun \(failed) (request \(id))")

            // The leader's audit row for its result, failing: no run queued, the request still pending.
            do {
                _ = try await ClusterRequests.actAsLeader(c.sessionA, lease: c.lease, epoch: c.term.epoch, decide: rerunFromTheTop(postgres)) { session, handling in
                    try await appendAudit(session, "queued run \(handling.status.resultRunID ?? 0)")
                    throw AuditRefused()
                }
                Issue.record("the leader's result was written without its audit row")
            } catch is AuditRefused {}
            #expect(try field(postgres, "SELECT (SELECT count(*) FROM run) || '|' || (SELECT count(*) FROM audit)") == "1|1")
            #expect(try field(postgres, "SELECT state, taken_by IS NULL FROM request WHERE id = \(id)") == "pending|t")

            // Asked wrongly: refused before anything is written, naming what is missing.
            do {
                _ = try await ClusterRequests.submit(request(.cancel, on: c.b), c.sessionB)
                Issue.record("a cancel without a run was written")
            } catch let problem as ClusterRequestProblem {
                #expect(problem.description == "a cancel request needs the run id (renkeictl cancel RUN-ID)")
            }
        }
    }
}

extension Fenced where Result == LeaderHandling? {
    /// The leader's pass found nothing it acts on.
    var tookNothing: Bool {
        if case .written(nil) = self { return true }
        return false
    }
}
