import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// A node's heartbeat on a real PostgreSQL 15: stamped with the database's clock while the node
/// is alive, refused once it is declared dead, failed when the connection is cut.
@Suite(.serialized) struct HeartbeatTests {
    @Test func aHeartbeatStampsTheDatabasesClockAndADeclaredDeadNodeIsToldSo() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a", name: "node a") { session in
            let node = NodeRegistration(name: "a")
            try await node.register(session, host: "localhost", pid: getpid())
            #expect(try postgres.psql("UPDATE node SET heartbeat_at = now() - interval '1 hour'").status == 0)
            let heart = NodeHeartbeat(node: node)

            guard case .alive(let stamped) = await heart.beat(session) else { Issue.record("a live node's heartbeat was not stamped"); return }
            let row = try postgres.psql("SELECT heartbeat_at > now() - interval '1 minute', extract(epoch FROM heartbeat_at) FROM node WHERE incarnation = '\(node.incarnation)'")
            let fields = row.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
            #expect(fields.first == "t", "\(row.stdout) \(row.stderr)")
            #expect(abs((Double(fields.last ?? "") ?? 0) - stamped.timeIntervalSince1970) < 0.001)

            // The leader declares it dead: the next heartbeat updates nothing and says so.
            #expect(try postgres.psql("UPDATE node SET state = 'dead' WHERE incarnation = '\(node.incarnation)'").status == 0)
            guard case .declaredDead = await heart.beat(session) else { Issue.record("a dead node's heartbeat was not refused"); return }
            let after = try postgres.psql("SELECT state, heartbeat_at < now() - interval '30 minutes' FROM node WHERE incarnation = '\(node.incarnation)'")
            #expect(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "dead|f", "the dead node's row was changed: \(after.stdout)")

            // It registers again under the same name with a fresh incarnation, and beats again.
            let again = NodeRegistration(name: "a")
            try await again.register(session, host: "localhost", pid: getpid())
            guard case .alive = await NodeHeartbeat(node: again).beat(session) else { Issue.record("the new incarnation's heartbeat failed"); return }
            guard case .declaredDead = await heart.beat(session) else { Issue.record("the old incarnation beat again"); return }
        }
    }

    @Test func aHeartbeatOverAConnectionCutByARestartFailsAndFeedsTheSelfFence() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let timings = try ClusterTimings.standard.validated()
        try await postgres.withSession(user: "renkei_a", name: "node a") { session in
            let node = NodeRegistration(name: "a")
            let clock = ContinuousClock()
            let registering = clock.now
            try await node.register(session, host: "localhost", pid: getpid())
            var fence = SelfFence.registered(at: registering)
            let heart = NodeHeartbeat(node: node)

            try postgres.restart()
            let attempt = clock.now
            switch await heart.beat(session) {
            case .failed(let problem):
                #expect(problem.kind == .connectionLost || problem.kind == .unreachable, "\(problem)")
                #expect(problem.description.contains("stamping the heartbeat of node a"), "\(problem)")
                fence = fence.heartbeatFailed()
            case let other:
                Issue.record("a heartbeat over a cut connection came to \(other)")
            }
            #expect(fence == .late(lastGood: registering))
            // Still within --self-fence-after of the registration: steps go on.
            #expect(fence.mayWrite(at: attempt, timings: timings))

            // A new connection beats again: healthy, counted from that heartbeat's start.
            try await postgres.withSession(user: "renkei_a", name: "node a again") { again in
                let start = clock.now
                guard case .alive = await heart.beat(again) else { Issue.record("the heartbeat after reconnecting failed"); return }
                fence = fence.heartbeatSucceeded(attemptStart: start)
                #expect(fence == .healthy(lastGood: start))
            }
        }
    }
}
