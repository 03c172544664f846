import Foundation
import Testing

/// renkeid's cluster flags are checked before anything starts, naming the flag to change.
@Suite struct NodeFlagsTests {
    private func renkeidRun(_ arguments: [String]) throws -> Finished {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "RENKEI_STORE")
        environment["RENKEI_CONFIG"] = "/nonexistent/renkei.yaml"
        return try execute(renkeid, arguments, environment: environment)
    }

    @Test func timingsThatDoNotFitTogetherAreRefusedNamingTheFlags() throws {
        let store = "postgresql:///renkei?host=/nonexistent&user=renkei"
        let shortLease = try renkeidRun(["--store", store, "--lease-ttl", "10s", "--lease-renew", "5s"])
        #expect(shortLease.status != 0)
        #expect(shortLease.stderr.contains("--lease-ttl 10s is shorter than 3 × --lease-renew 5s"), "\(shortLease.stderr)")
        let fence = try renkeidRun(["--store", store, "--self-fence-after", "40s"])
        #expect(fence.status != 0)
        #expect(fence.stderr.contains("--self-fence-after 40s + kill grace 10s is longer than --dead-after 30s + --retry-grace 10s"), "\(fence.stderr)")
        let garbled = try renkeidRun(["--store", store, "--heartbeat", "often"])
        #expect(garbled.status != 0)
        #expect(garbled.stderr.contains("--heartbeat 'often'"), "\(garbled.stderr)")
    }

    @Test func aStandbyIsOnlyForPostgreSQLAndABadStoreNamesTheArgument() throws {
        let standby = try renkeidRun(["--max-concurrent", "0"])
        #expect(standby.status != 0)
        #expect(standby.stderr.contains("--max-concurrent must be 1 to 1000 (0, a standby, only with --store postgresql:…)"), "\(standby.stderr)")
        let password = try renkeidRun(["--store", "postgresql://db.example/renkei?user=renkei&password=hunter2&sslmode=require"])
        #expect(password.status != 0)
        #expect(password.stderr.contains("--store"), "\(password.stderr)")
        #expect(!password.stderr.contains("hunter2"), "the password was repeated: \(password.stderr)")
        let name = try renkeidRun(["--store", "postgresql:///renkei?host=/nonexistent&user=renkei", "--node-name", "two words"])
        #expect(name.status != 0)
        #expect(name.stderr.contains("--node-name 'two words': 1 to 63 characters without spaces"), "\(name.stderr)")
    }
}
