import Foundation
import RenkeiPostgres
import Testing

/// renkeictl through one node's local control socket acts on the whole cluster (issue 19,
/// criterion 4): each change is a request row the right node carries out — the leader for
/// run, rerun, hold and release, the node running a run for its cancel.
@Suite("renkeictl on a node of the cluster: run, cancel, hold, status through any node")
struct ClusterRequestCommandTests {
    /// A job with no schedule: it runs when asked, writing its node and run to `executions`.
    static func manualJob(_ cluster: Cluster, _ name: String, seconds: Int) {
        let script = "echo \"start $RENKEI_RUN_ID $$\" >> \(cluster.executions); sleep \(seconds); echo \"end $RENKEI_RUN_ID\" >> \(cluster.executions)"
        cluster.writeJob(name, "steps:\n  - name: work\n    run: [\"/bin/sh\", \"-c\", \(Cluster.quoted(script))]\n")
    }

    /// Two nodes; `a` leads before `b` starts.
    static func twoNodes(_ cluster: Cluster) throws {
        try cluster.start("a")
        #expect(try cluster.eventually { try cluster.leader() == "a" }, "a never led:\n\(cluster.logs())")
        try cluster.start("b")
        #expect(try cluster.eventually { try cluster.value("SELECT count(*) FROM node WHERE state = 'alive'") == "2" }, "\(cluster.logs())")
        #expect(try cluster.eventually { FileManager.default.fileExists(atPath: cluster.root + "/b/control.sock") }, "b has no socket:\n\(cluster.log("b"))")
    }

    @Test("run on the node that does not lead: the leader queues it, a node runs it; status shows both nodes; the audit chain has both rows")
    func runFromFollower() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let cluster = try Cluster(postgres: postgres)
        Self.manualJob(cluster, "export", seconds: 0)
        try Self.twoNodes(cluster)

        let asked = try cluster.ctl("b", ["run", "export", "--reason", "ticket 7"])
        #expect(asked.status == 0, "\(asked.stdout) \(asked.stderr)\n\(cluster.logs())")
        #expect(asked.stdout.contains("queued as run") && asked.stdout.contains("by node a"), "\(asked.stdout)")
        let runID = Int64(try cluster.value("SELECT result_run_id FROM request WHERE kind = 'run'"))
        #expect(runID != nil, "no run recorded for the request")
        #expect(asked.stdout.contains("queued as run \(runID ?? -1)"), "\(asked.stdout)")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE id = \(runID ?? -1)") == "succeeded" },
                "run \(runID ?? -1) did not succeed:\n\(cluster.logs())")
        #expect(try cluster.value("SELECT trigger || ' ' || requested_by_user || ' ' || reason FROM run WHERE id = \(runID ?? -1)") == "manual root ticket 7")

        // Refusals answer at once and name what is wrong.
        let unknown = try cluster.ctl("b", ["run", "no-such-job"])
        #expect(unknown.status == 5, "\(unknown.stdout) \(unknown.stderr)")
        let ended = try cluster.ctl("a", ["cancel", "\(runID ?? -1)"])
        #expect(ended.status == 2 && ended.stderr.contains("succeeded, not running"), "\(ended.stdout) \(ended.stderr)")

        // A rerun from the top of a failed run, asked on either node; other modes say they are not yet here.
        let marker = cluster.root + "/flaky-failed-once"
        cluster.writeJob("flaky", "steps:\n  - name: work\n    run: [\"/bin/sh\", \"-c\", \"test -e \(marker) || { touch \(marker); exit 7; }\"]\n")
        cluster.signal("a", SIGHUP)
        cluster.signal("b", SIGHUP)
        #expect(try cluster.eventually { try cluster.ctl("a", ["run", "flaky"]).status == 0 }, "\(cluster.logs())")
        let failed = Int64(try cluster.value("SELECT max(id) FROM run WHERE job = 'flaky'")) ?? -1
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE id = \(failed)") == "failed" }, "\(cluster.logs())")
        let fromFailed = try cluster.ctl("b", ["rerun", "\(failed)"])
        #expect(fromFailed.status == 2 && fromFailed.stderr.contains("not yet on PostgreSQL") && fromFailed.stderr.contains("--from-top"), "\(fromFailed.stderr)")
        let rerun = try cluster.ctl("b", ["rerun", "\(failed)", "--from-top"])
        #expect(rerun.status == 0 && rerun.stdout.contains("rerun of run \(failed)"), "\(rerun.stdout) \(rerun.stderr)\n\(cluster.logs())")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE rerun_of = \(failed)") == "succeeded" }, "\(cluster.logs())")

        let status = try cluster.ctl("b", ["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("leader: node a") && status.stdout.contains("node a: alive, leader") && status.stdout.contains("node b: alive"),
                "\(status.stdout)")

        let verified = try execute(renkeictl, ["audit", "--verify", "--store", postgres.url()])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        let rows = try cluster.value("SELECT string_agg(\"user\" || ': ' || result, E'\\n' ORDER BY id) FROM audit")
        #expect(rows.contains("root: submitted as request 1 on node b"), "\(rows)")
        #expect(rows.contains("root: done by node a: queued run \(runID ?? -1)"), "\(rows)")
        #expect(rows.contains("root: refused: no such job") && rows.contains("root: refused: not running"), "\(rows)")
    }

    @Test("cancel through the other node's socket: the node running the run stops it, recorded cancelled by the operator")
    func cancelOnOtherNode() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let cluster = try Cluster(postgres: postgres)
        Self.manualJob(cluster, "slow", seconds: 120)
        try Self.twoNodes(cluster)

        let asked = try cluster.ctl("a", ["run", "slow"])
        #expect(asked.status == 0, "\(asked.stdout) \(asked.stderr)\n\(cluster.logs())")
        #expect(try cluster.eventually { try cluster.value("SELECT count(*) FROM step WHERE state = 'running' AND pid IS NOT NULL") == "1" },
                "the run never started:\n\(cluster.logs())")
        let runID = Int64(try cluster.value("SELECT run_id FROM step WHERE state = 'running'"))!
        let stepPID = Int32(try cluster.value("SELECT pid FROM step WHERE run_id = \(runID)"))!
        let owner = try cluster.owner(ofRun: runID)
        let other = owner == "a" ? "b" : "a"

        let cancelled = try cluster.ctl(other, ["cancel", "\(runID)", "--reason", "wrong file"])
        #expect(cancelled.status == 0, "\(cancelled.stdout) \(cancelled.stderr)\n\(cluster.logs())")
        #expect(cancelled.stdout.contains("stopping run \(runID) on node \(owner)"), "\(cancelled.stdout)")
        #expect(try cluster.eventually { try cluster.value("SELECT state FROM run WHERE id = \(runID)") == "cancelled" }, "\(cluster.logs())")
        let message = try cluster.value("SELECT error_message FROM run WHERE id = \(runID)")
        #expect(message.contains("cancelled by root"), "\(message)")
        #expect(cluster.eventually { kill(stepPID, 0) != 0 }, "the step (pid \(stepPID)) still runs")
        #expect(try cluster.value("SELECT q.state || ' ' || n.node_name FROM request q JOIN node n ON n.incarnation = q.taken_by WHERE q.kind = 'cancel'") == "done \(owner)")
        let verified = try execute(renkeictl, ["audit", "--verify", "--store", postgres.url()])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        #expect(try cluster.value("SELECT count(*) FROM audit WHERE result LIKE 'done by node \(owner): stopping run \(runID)%' AND reason = 'wrong file' AND run_id = \(runID)") == "1")
    }

    @Test("hold through a node: the job's slots are recorded skipped with the hold's reason until release; then they run again")
    func holdAndRelease() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let cluster = try Cluster(postgres: postgres)
        cluster.tickJob(every: 2, seconds: 0.2)
        try Self.twoNodes(cluster)
        #expect(try cluster.eventually { try cluster.value("SELECT count(*) FROM run WHERE state = 'succeeded'") != "0" }, "\(cluster.logs())")

        let noReason = try cluster.ctl("b", ["hold", "tick"])
        #expect(noReason.status != 0, "\(noReason.stdout)")
        let held = try cluster.ctl("b", ["hold", "tick", "--reason", "ticket 4411"])
        #expect(held.status == 0, "\(held.stdout) \(held.stderr)\n\(cluster.logs())")
        #expect(held.stdout.contains("held tick"), "\(held.stdout)")
        let heldAt = Int64(try cluster.value("SELECT extract(epoch FROM since)::bigint FROM hold WHERE job = 'tick'"))!
        // The next slots after the hold: skipped, with the hold's reason, and no step ran for them.
        let skippedTwice = try cluster.eventually {
            try Int(cluster.value("SELECT count(*) FROM run WHERE job = 'tick' AND state = 'skipped' AND error_message = 'held by root: ticket 4411'"))! >= 2
        }
        let runs = try cluster.value("SELECT string_agg(id || ' ' || logical_time || ' ' || state || ' ' || coalesce(error_message, ''), E'\\n' ORDER BY id) FROM run")
        #expect(skippedTwice, "\(runs)\n\(cluster.logs())")
        #expect(try cluster.value("SELECT count(*) FROM run WHERE job = 'tick' AND logical_time > \(heldAt + 2) AND state <> 'skipped'") == "0")
        let status = try cluster.ctl("a", ["status"])
        #expect(status.stdout.contains("held: tick, held by root: ticket 4411"), "\(status.stdout)")

        let released = try cluster.ctl("a", ["release", "tick"])
        #expect(released.status == 0, "\(released.stdout) \(released.stderr)")
        let releasedAt = Int64(Date().timeIntervalSince1970)
        #expect(try cluster.eventually {
            try cluster.value("SELECT count(*) FROM run WHERE job = 'tick' AND logical_time > \(releasedAt) AND state = 'succeeded'") != "0"
        }, "no slot ran after the release:\n\(cluster.logs())")
        let again = try cluster.ctl("a", ["release", "tick"])
        #expect(again.status == 2 && again.stderr.contains("was not held"), "\(again.stdout) \(again.stderr)")
        let problems = try cluster.invariantProblems()
        #expect(problems.isEmpty, "\(problems)\n\(cluster.logs())")
    }
}

extension Cluster {
    /// `renkeictl ARGS` through node `name`'s control socket.
    func ctl(_ name: String, _ arguments: [String]) throws -> Finished {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "RENKEI_STORE")
        return try execute(renkeictl, arguments + ["--socket", root + "/\(name)/control.sock"], environment: environment)
    }
}
