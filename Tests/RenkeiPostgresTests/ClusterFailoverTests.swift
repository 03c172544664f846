import Foundation
import RenkeiPostgres
import Testing

/// Real renkeid nodes on one PostgreSQL: the leader or a node killed (issue 19, criterion 5).
@Suite("renkeid nodes on one PostgreSQL: a node killed")
struct ClusterFailoverTests {
    @Test("kill -9 of the leader: the other node takes the lease, the next slots run there on time, nothing is doubled or lost")
    func leaderKilled() async throws {
        let cluster = try await Cluster.ledByA(succeeded: 2)
        let postgres = cluster.postgres

        cluster.signal("a", SIGKILL)
        let killedAt = Int64(Date().timeIntervalSince1970)
        #expect(try cluster.eventually { try cluster.leader() == "b" }, "b never took the lease:\n\(cluster.logs())")
        // The first slot after the lease could have expired and b renewed: recorded by b as a
        // slot on time (trigger schedule, not a catch-up or missed), claimed and run by b.
        let target = (killedAt + 4) / 2 * 2 + 2
        #expect(try cluster.eventually {
            try cluster.value("SELECT r.trigger || ' ' || r.state || ' ' || n.node_name FROM run r JOIN node n ON n.incarnation = r.owner_node WHERE r.job = 'tick' AND r.logical_time = \(target) AND r.attempt = 1") == "schedule succeeded b"
        }, "slot \(target) did not run on b on time:\n\(cluster.runs())\n\(cluster.logs())")
        #expect(cluster.log("b").contains("node b leads the cluster (scheduler lease epoch 2"), "\(cluster.log("b"))")

        // a's silence is declared, and whatever it ran is no longer `running`.
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM node WHERE node_name = 'a'") == "dead" }, "\(cluster.logs())")
        #expect(cluster.log("b").contains("node a (incarnation"), "\(cluster.log("b"))")
        let problems = try cluster.invariantProblems()
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
        cluster.signal("b", SIGTERM)
        #expect(try cluster.value("SELECT state FROM node WHERE node_name = 'b'") == "leaving", "b did not leave cleanly:\n\(cluster.log("b"))")
        // A clean stop gives the lease up at once rather than leaving it to expire.
        #expect(cluster.log("b").contains("node b gave the scheduler lease up (epoch 2)"), "\(cluster.log("b"))")
        #expect(try cluster.value("SELECT expires_at < now() FROM lease WHERE role = 'scheduler'") == "t")
    }

    @Test("kill -9 of a node mid-run: the run is interrupted and retried on the other node after the old step is gone")
    func nodeKilledMidRun() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let cluster = try Cluster(postgres: postgres)
        cluster.tickJob(every: 20, seconds: 8, retry: "{ limit: 1, delay: 1s }")
        // b leads and runs nothing (a standby); a runs the slots.
        try cluster.start("b", ["--max-concurrent", "0"])
        #expect(try cluster.eventually { try cluster.leader() == "b" }, "b never led:\n\(cluster.logs())")
        try cluster.start("a")
        #expect(try cluster.eventually(.seconds(40)) { try cluster.value("SELECT count(*) FROM run WHERE state = 'running'") == "1" },
                "no run started:\n\(cluster.logs())")
        let runID = Int64(try cluster.value("SELECT id FROM run WHERE state = 'running'"))!
        #expect(try cluster.owner(ofRun: runID) == "a")
        let stepPID = Int32(try cluster.value("SELECT pid FROM step WHERE run_id = \(runID)"))
        #expect(stepPID != nil, "the step's pid was not recorded")

        cluster.signal("a", SIGKILL)
        // No systemd kills a's cgroup here: a starts again at once, as Restart= would, stops the
        // step its earlier incarnation left, and declares that incarnation dead.
        try cluster.start("a")
        #expect(cluster.eventually { kill(stepPID!, 0) != 0 }, "the old step (pid \(stepPID!)) still runs:\n\(cluster.logs())")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE id = \(runID)") == "interrupted" }, "\(cluster.logs())")
        #expect(try cluster.eventually {
            try cluster.value("SELECT state FROM run WHERE retry_of = \(runID)") == "succeeded"
        }, "the retry did not succeed:\n\(cluster.runs())\n\(cluster.logs())")
        let message = try cluster.value("SELECT error_message FROM run WHERE id = \(runID)")
        #expect(message.contains("node a (incarnation") && message.contains("retried on another node"), "\(message)")
        // The step of the interrupted attempt never ended: it was stopped, not finished twice.
        let executed = (try? String(contentsOfFile: cluster.executions, encoding: .utf8)) ?? ""
        let ends = executed.split(separator: "\n").filter { $0.hasPrefix("end ") && $0.split(separator: " ")[2] == "\(runID)" }
        #expect(ends.isEmpty, "\(executed)")
        let problems = try cluster.invariantProblems(every: 20)
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
    }
}
