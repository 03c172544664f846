import Foundation
import RenkeiPostgres
import Testing

/// Real renkeid nodes on one PostgreSQL: a node paused or cut off, PostgreSQL restarted, crashed
/// or stalled (issue 19, criterion 5). Each ends with the cluster's invariants.
@Suite("renkeid nodes on one PostgreSQL: a node paused or cut off, the database restarted, crashed or stalled")
struct ClusterFaultTests {
    /// Every run, one line each, for a failure message (what psql said if it cannot be read).
    private func runs(_ cluster: Cluster) -> String {
        (try? cluster.value("""
            SELECT string_agg(r.id || ' ' || r.job || '@' || r.logical_time || ' ' || r.trigger || ' #' || r.attempt || ' ' || r.state
                              || ' on ' || coalesce(n.node_name || '/' || left(n.incarnation::text, 8), '-') || ' ' || coalesce(r.error_message, ''), E'\\n' ORDER BY r.id)
            FROM run r LEFT JOIN node n ON n.incarnation = r.owner_node
            """)) ?? "(the runs could not be read)"
    }

    private func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    @Test("SIGSTOP of the leader past the lease and --dead-after: the other node takes over; after SIGCONT the old leader writes nothing under its old term, kills its steps and comes back as a follower")
    func leaderPaused() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let cluster = try Cluster(postgres: postgres)
        cluster.tickJob(every: 2, seconds: 0.3)
        // A step that outlives the pause: what the old leader must kill itself once it wakes.
        cluster.writeJob("long", "schedule: \"*:*:0/10\"\nsteps:\n  - name: wait\n    run: [\"/bin/sleep\", \"40\"]\n")
        try cluster.start("a")
        #expect(try cluster.eventually { try cluster.leader() == "a" }, "a never led:\n\(cluster.logs())")
        #expect(try cluster.eventually(.seconds(40)) { try cluster.value("SELECT count(*) FROM run WHERE job = 'long' AND state = 'running'") == "1" },
                "long never started on a:\n\(runs(cluster))\n\(cluster.logs())")
        let longRun = try #require(Int64(try cluster.value("SELECT id FROM run WHERE job = 'long' AND state = 'running'")))
        #expect(try cluster.owner(ofRun: longRun) == "a")
        let stepPID = try #require(Int32(try cluster.value("SELECT pid FROM step WHERE run_id = \(longRun)")), "the step's pid was not recorded")
        try cluster.start("b")
        #expect(try cluster.eventually { try cluster.value("SELECT count(*) FROM node WHERE node_name = 'b' AND state = 'alive'") == "1" }, "\(cluster.logs())")
        let oldEpoch = try cluster.value("SELECT epoch FROM lease WHERE role = 'scheduler'")
        let oldIncarnation = try cluster.value("SELECT incarnation FROM node WHERE node_name = 'a' AND state = 'alive'")

        cluster.signal("a", SIGSTOP)
        let stoppedAt = now()
        #expect(try cluster.eventually(.seconds(40)) { try cluster.leader() == "b" }, "b never took the lease:\n\(cluster.logs())")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM node WHERE incarnation = '\(oldIncarnation)'") == "dead" },
                "the paused a was never declared dead:\n\(cluster.logs())")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE id = \(longRun)") == "interrupted" }, "\(runs(cluster))")
        // b runs the next slots while a sleeps.
        #expect(try cluster.eventually {
            Int(try cluster.value("""
                SELECT count(*) FROM run r JOIN node n ON n.incarnation = r.owner_node
                WHERE r.job = 'tick' AND r.state = 'succeeded' AND n.node_name = 'b' AND r.logical_time > \(stoppedAt)
                """))! >= 2
        }, "b ran no slots while a was paused:\n\(runs(cluster))\n\(cluster.logs())")
        let newEpoch = try cluster.value("SELECT epoch FROM lease WHERE role = 'scheduler'")
        #expect(Int(newEpoch)! > Int(oldEpoch)!, "epoch \(oldEpoch) → \(newEpoch)")
        // A paused renkeid's children go on running (the worst case: no cgroup freeze here).
        #expect(kill(stepPID, 0) == 0, "the step of run \(longRun) ended while a was paused")

        cluster.signal("a", SIGCONT)
        #expect(cluster.eventually { kill(stepPID, 0) != 0 }, "a did not kill its step (pid \(stepPID)) after waking:\n\(cluster.log("a"))")
        #expect(try cluster.eventually {
            try cluster.value("SELECT count(*) FROM node WHERE node_name = 'a' AND state = 'alive' AND incarnation <> '\(oldIncarnation)'") == "1"
        }, "a did not register again:\n\(cluster.log("a"))")
        #expect(cluster.log("a").contains("was declared dead by the leader"), "\(cluster.log("a"))")
        #expect(cluster.log("a").contains("node a no longer leads (epoch \(oldEpoch))"), "\(cluster.log("a"))")
        // A few more slots with a awake: it follows, b leads, a heartbeats.
        let wokeAt = now()
        #expect(try cluster.eventually {
            Int(try cluster.value("SELECT count(*) FROM run WHERE job = 'tick' AND state = 'succeeded' AND logical_time > \(wokeAt)"))! >= 3
        }, "\(runs(cluster))\n\(cluster.logs())")
        #expect(try cluster.leader() == "b", "\(cluster.logs())")
        #expect(try cluster.value("SELECT now() - heartbeat_at < interval '3 seconds' FROM node WHERE node_name = 'a' AND state = 'alive'") == "t")

        // Nothing under the old term after the takeover, and the interrupted run stays as the leader left it.
        let late = try cluster.value("""
            SELECT string_agg(job || '@' || logical_time, ', ') FROM slot
            WHERE epoch = \(oldEpoch) AND recorded_at >= (SELECT acquired_at FROM lease WHERE role = 'scheduler')
            """)
        #expect(late.isEmpty, "slots recorded under epoch \(oldEpoch) after b took over: \(late)")
        let backwards = try cluster.value("""
            SELECT string_agg(job || '@' || logical_time || ' epoch ' || epoch || ' after ' || before, ', ') FROM
              (SELECT job, logical_time, epoch, lag(epoch) OVER (ORDER BY recorded_at, logical_time) AS before FROM slot) s
            WHERE epoch < before
            """)
        #expect(backwards.isEmpty, "slots recorded under an older epoch after a newer one: \(backwards)")
        #expect(try cluster.value("SELECT state FROM run WHERE id = \(longRun)") == "interrupted", "\(runs(cluster))")
        let problems = try cluster.invariantProblems()
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
    }

    @Test("A node cut off from PostgreSQL mid-run: it kills its step, the leader declares it dead and the run is retried on the other node; with its login back it registers again")
    func nodeCutOff() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let cluster = try Cluster(postgres: postgres)
        cluster.tickJob(every: 20, seconds: 8, retry: "{ limit: 1, delay: 1s }")
        // c leads and runs nothing; a (role renkei_a) runs the first slot; b (renkei_b) is there for the retry.
        try cluster.start("c", ["--max-concurrent", "0"])
        #expect(try cluster.eventually { try cluster.leader() == "c" }, "c never led:\n\(cluster.logs())")
        try cluster.start("a", user: "renkei_a")
        #expect(try cluster.eventually(.seconds(40)) { try cluster.value("SELECT count(*) FROM run WHERE state = 'running'") == "1" },
                "no run started:\n\(cluster.logs())")
        let runID = try #require(Int64(try cluster.value("SELECT id FROM run WHERE state = 'running'")))
        #expect(try cluster.owner(ofRun: runID) == "a")
        let stepPID = try #require(Int32(try cluster.value("SELECT pid FROM step WHERE run_id = \(runID)")), "the step's pid was not recorded")
        let oldIncarnation = try cluster.value("SELECT incarnation FROM node WHERE node_name = 'a' AND state = 'alive'")
        try cluster.start("b", user: "renkei_b")
        #expect(try cluster.eventually { try cluster.value("SELECT count(*) FROM node WHERE node_name = 'b' AND state = 'alive'") == "1" }, "\(cluster.logs())")

        _ = try cluster.value("ALTER ROLE renkei_a NOLOGIN")
        _ = try cluster.value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'renkei_a'")
        #expect(cluster.eventually { kill(stepPID, 0) != 0 }, "the cut-off a did not stop its step (pid \(stepPID)):\n\(cluster.log("a"))")
        #expect(cluster.log("a").contains("could not record its heartbeat"), "\(cluster.log("a"))")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM node WHERE incarnation = '\(oldIncarnation)'") == "dead" },
                "c never declared a dead:\n\(cluster.logs())")
        #expect(cluster.log("c").contains("node a (incarnation"), "\(cluster.log("c"))")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE id = \(runID)") == "interrupted" }, "\(runs(cluster))")
        #expect(try cluster.eventually(.seconds(40)) { try cluster.value("SELECT state FROM run WHERE retry_of = \(runID)") == "succeeded" },
                "the retry did not succeed:\n\(runs(cluster))\n\(cluster.logs())")
        let retry = try #require(Int64(try cluster.value("SELECT id FROM run WHERE retry_of = \(runID)")))
        #expect(try cluster.owner(ofRun: retry) == "b")
        // The cut-off attempt's step was stopped, never finished.
        let executed = (try? String(contentsOfFile: cluster.executions, encoding: .utf8)) ?? ""
        #expect(!executed.split(separator: "\n").contains { $0.hasPrefix("end ") && $0.split(separator: " ")[2] == "\(runID)" }, "\(executed)")

        _ = try cluster.value("ALTER ROLE renkei_a LOGIN")
        #expect(try cluster.eventually {
            try cluster.value("SELECT count(*) FROM node WHERE node_name = 'a' AND state = 'alive' AND incarnation <> '\(oldIncarnation)'") == "1"
        }, "a did not register again once it could log in:\n\(cluster.log("a"))")
        #expect(cluster.log("a").contains("registered again as incarnation"), "\(cluster.log("a"))")
        #expect(try cluster.value("SELECT state FROM run WHERE id = \(runID)") == "interrupted", "\(runs(cluster))")
        let problems = try cluster.invariantProblems(every: 20)
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
    }

    /// PostgreSQL goes away for less than the nodes' limits (`fault`): nobody is declared dead,
    /// no run is interrupted, slots go on, and nothing is doubled or lost.
    private func briefOutage(_ fault: (ScratchPostgres) throws -> Void) async throws {
        let cluster = try await Cluster.ledByA(succeeded: 3)
        let postgres = cluster.postgres
        let incarnations = try cluster.value("SELECT string_agg(incarnation::text, ' ' ORDER BY node_name) FROM node")

        try fault(postgres)
        let backAt = now()
        #expect(try cluster.eventually(.seconds(40)) {
            Int(try cluster.value("SELECT count(*) FROM run WHERE job = 'tick' AND state = 'succeeded' AND logical_time > \(backAt)"))! >= 3
        }, "slots did not go on after the fault:\n\(runs(cluster))\n\(cluster.logs())")
        // The leader swept since (its reaper would have declared a silent node dead by now).
        try await Task.sleep(for: .seconds(5))
        #expect(try cluster.value("SELECT string_agg(incarnation::text, ' ' ORDER BY node_name) FROM node WHERE state = 'alive'") == incarnations,
                "a node was declared dead or registered again:\n\((try? cluster.value("SELECT string_agg(node_name || ' ' || incarnation || ' ' || state, E'\\n') FROM node")) ?? "")\n\(cluster.logs())")
        #expect(try cluster.value("SELECT count(*) FROM run WHERE state NOT IN ('succeeded', 'running', 'queued')") == "0",
                "runs that did not succeed:\n\(runs(cluster))\n\(cluster.logs())")
        let problems = try cluster.invariantProblems()
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
    }

    @Test("PostgreSQL restarted (pg_ctl restart -m fast) for less than the limits: no node declared dead, no run interrupted, slots go on")
    func databaseRestarted() async throws {
        try await briefOutage { try $0.restart() }
    }

    @Test("PostgreSQL crashed (pg_ctl stop -m immediate, then start): once it is back, no node declared dead, no run interrupted, no slot run twice")
    func databaseCrashed() async throws {
        try await briefOutage { try $0.crash() }
    }

    @Test("The lease table locked for 8 s: renewals fail, the leader stops leading; once the lock is gone a leader records slots again, none twice, none lost")
    func leaseTableStalled() async throws {
        let cluster = try await Cluster.ledByA(succeeded: 2)
        let postgres = cluster.postgres

        // While the lock is held, no query of the test may touch the lease table (it would wait too).
        let stall = Process()
        stall.executableURL = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin/psql")
        stall.arguments = ["-h", postgres.directory, "-U", "renkei", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "renkei",
                           "-c", "BEGIN; LOCK TABLE lease IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT;"]
        stall.standardOutput = FileHandle.nullDevice
        stall.standardError = FileHandle.nullDevice
        stall.standardInput = FileHandle.nullDevice
        let stalledAt = now()
        try stall.run()
        #expect(cluster.eventually(.seconds(20)) { cluster.log("a").contains("node a no longer leads") },
                "a went on leading while the lease table was locked:\n\(cluster.logs())")
        stall.waitUntilExit()
        #expect(stall.terminationStatus == 0, "the psql holding the lock failed")
        let freedAt = now()

        #expect(try cluster.eventually { try cluster.leader() != nil }, "no node leads after the lock is gone:\n\(cluster.logs())")
        #expect(try cluster.eventually(.seconds(40)) {
            Int(try cluster.value("SELECT count(*) FROM run WHERE job = 'tick' AND state = 'succeeded' AND logical_time > \(freedAt)"))! >= 3
        }, "slots did not go on after the stall:\n\(runs(cluster))\n\(cluster.logs())")
        // The slots that came due while the lease table was locked are on record (run late or recorded missed).
        let during = try cluster.value("SELECT count(*) FROM slot WHERE job = 'tick' AND logical_time > \(stalledAt) AND logical_time <= \(freedAt)")
        #expect(Int(during)! >= 3, "only \(during) slot(s) of the stall on record:\n\(runs(cluster))")
        let problems = try cluster.invariantProblems()
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
    }
}
