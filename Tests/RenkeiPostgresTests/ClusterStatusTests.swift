import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// `renkeictl status --store postgresql:…` as an operator runs it: the built renkeictl as a child
/// process against a real PostgreSQL 15 holding two nodes, a leader and their runs.
@Suite(.serialized) struct ClusterStatusTests {
    /// The lines of `text` from the heading `node NAME:` up to the next node heading.
    private func section(_ text: String, node: String) -> [String] {
        let lines = text.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("node \(node): ") }) else { return [] }
        let rest = lines[(start + 1)...].prefix { $0.hasPrefix("  ") }
        return [lines[start]] + rest
    }

    private func number(after prefix: String, in line: String) -> Int? {
        guard let range = line.range(of: prefix) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func statusShowsNodesLeaderEpochRunsAndASilentNodesHeartbeatAge() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try postgres.queue(runs: 3, spacing: 86_400, eachItsOwnJob: true)
        try await postgres.withNode("a", user: "renkei_a", host: "host-a", pid: 4097) { nodeA, sessionA in
        try await postgres.withNode("b", user: "renkei_b", host: "host-b", pid: 4098) { nodeB, sessionB in
        let term = try #require(try await LeaderLease(holder: nodeA.incarnation, timings: .standard).acquireOrRenew(sessionA))
        let runA = try #require(try await RunClaims.claimNext(sessionA, node: nodeA.incarnation))
        let runB = try #require(try await RunClaims.claimNext(sessionB, node: nodeB.incarnation))
        #expect(try postgres.psql("UPDATE node SET heartbeat_at = now() - interval '42 seconds' WHERE node_name = 'b'").status == 0)

        let shown = try renkeictlRun(["status", "--store", postgres.url()])
        #expect(shown.status == 0, "\(shown.stderr)")
        let text = shown.stdout
        #expect(text.contains("leader: node a, epoch \(term.epoch), lease expires in "), "\(text)")

        let a = section(text, node: "a")
        #expect(a.first?.hasPrefix("node a: alive, leader, last heartbeat ") == true, "\(text)")
        #expect(a.first?.contains("host host-a, pid \(4000 + 97), incarnation \(nodeA.incarnation.uuidString.lowercased().prefix(8))") == true, "\(text)")
        #expect(a.contains { $0.hasPrefix("  running: run \(runA.runID) link-1 for 2025-12-02T06:30:00+09:00") }, "\(text)")
        #expect(!a.contains { $0.contains("run \(runB.runID) ") }, "\(text)")

        let b = section(text, node: "b")
        #expect(b.first?.hasPrefix("node b: alive, last heartbeat ") == true, "\(text)")
        let age = try #require(b.first.flatMap { number(after: "last heartbeat ", in: $0) }, "\(text)")
        #expect(age >= 42, "\(text)")
        #expect(try #require(a.first.flatMap { number(after: "last heartbeat ", in: $0) }) < 42, "\(text)")
        #expect(b.contains { $0.hasPrefix("  running: run \(runB.runID) link-2 for 2025-12-03T06:30:00+09:00") }, "\(text)")
        #expect(text.contains("queued: 1 run (1 due)"), "\(text)")

        // The same through RENKEI_STORE, as JSON.
        let json = try renkeictlRun(["status", "--json"], store: postgres.url())
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(object["leader"] as? String == "a")
        let lease = try #require(object["lease"] as? [String: Any])
        #expect(lease["epoch"] as? Int == Int(term.epoch))
        #expect(lease["current"] as? Bool == true)
        #expect(lease["node"] as? String == "a")
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["name"] as? String } == ["a", "b"])
        #expect(nodes[0]["leader"] as? Bool == true && nodes[1]["leader"] as? Bool == false)
        #expect(nodes[0]["incarnation"] as? String == nodeA.incarnation.uuidString.lowercased())
        #expect((nodes[1]["heartbeat_age_seconds"] as? Int ?? 0) >= 42)
        #expect((nodes[0]["runs"] as? [[String: Any]])?.map { $0["id"] as? Int } == [Int(runA.runID)])
        #expect((nodes[1]["runs"] as? [[String: Any]])?.first?["logical_time"] as? String == "2025-12-03T06:30:00+09:00")
        #expect(object["queued"] as? Int == 1)
        }
        }
    }

    @Test func statusSaysWhenNobodyLeads() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let never = try renkeictlRun(["status", "--store", postgres.url()])
        #expect(never.status == 0, "\(never.stderr)")
        #expect(never.stdout.contains("no leader: the scheduler lease was never taken on this database"), "\(never.stdout)")
        #expect(never.stdout.contains("no nodes: no renkeid has registered on this database"), "\(never.stdout)")

        try await postgres.withNode("a", user: "renkei_a", host: "host-a", pid: 4097) { nodeA, sessionA in
            let lease = LeaderLease(holder: nodeA.incarnation, timings: .standard)
            let term = try #require(try await lease.acquireOrRenew(sessionA))
            #expect(try await lease.release(sessionA, epoch: term.epoch))
            // Declared dead by the others: still listed (its last incarnation), not as leader.
            #expect(try postgres.psql("UPDATE node SET state = 'dead'").status == 0)
            let expired = try renkeictlRun(["status", "--store", postgres.url()])
            #expect(expired.status == 0, "\(expired.stderr)")
            #expect(expired.stdout.contains("no leader: the scheduler lease expired "), "\(expired.stdout)")
            #expect(expired.stdout.contains("(epoch \(term.epoch), last held by node a)"), "\(expired.stdout)")
            #expect(expired.stdout.contains("node a: dead, last heartbeat "), "\(expired.stdout)")
        }
    }

    @Test func aStoppedServerIsExit3AndAnUnknownRoleExit4() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let refused = try renkeictlRun(["status", "--store", postgres.url(user: "nobody_here")])
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("nobody_here"), "\(refused.stderr)")

        let stopped = try execute(repository + "/Tests/Support/scratch-postgres.sh", ["stop", postgres.directory])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let unreachable = try renkeictlRun(["status", "--store", postgres.url()])
        #expect(unreachable.status == 3, "\(unreachable.stdout)\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot reach PostgreSQL at postgresql:///renkei?host=\(postgres.directory)"), "\(unreachable.stderr)")
        #expect(unreachable.stdout.isEmpty)
    }

    @Test func aBadStoreURLIsAUsageErrorAndSQLiteStillAsksTheDaemon() throws {
        let bad = try renkeictlRun(["status", "--store", "postgresql:///renkei?host=/run/postgresql"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("--store 'postgresql:///renkei?host=/run/postgresql'"), "\(bad.stderr)")

        // A SQLite store's status is its renkeid's: the control socket is asked, as before.
        let sqlite = try renkeictlRun(["status"], store: "sqlite:/tmp/renkei-status-test.sqlite")
        #expect(sqlite.status == 3, "\(sqlite.stdout)\(sqlite.stderr)")
        #expect(sqlite.stderr.contains("/nonexistent/control.sock"), "\(sqlite.stderr)")
    }
}
