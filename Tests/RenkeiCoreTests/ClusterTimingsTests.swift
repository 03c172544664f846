import Testing
@testable import RenkeiCore

@Suite struct ClusterTimingsTests {
    private func seconds(_ value: Int64) -> JobDuration { JobDuration(seconds: value) }

    @Test func theStandardTimingsFitTogether() throws {
        let timings = try ClusterTimings.standard.validated()
        #expect(timings.trustWindow == seconds(14))
    }

    @Test func aLeaseShorterThanThreeRenewalsIsRefusedNamingBothFlags() {
        var timings = ClusterTimings.standard
        timings.leaseTTL = seconds(10)
        #expect(throws: ClusterTimingsProblem.self) { try timings.validated() }
        do { _ = try timings.validated() } catch {
            #expect(error.flags == ["--lease-ttl", "--lease-renew"])
            #expect(error.description.contains("--lease-ttl 10s is shorter than 3 × --lease-renew 5s"))
            #expect(error.description.contains("raise --lease-ttl to at least 15s"))
        }
    }

    @Test func aSelfFenceThatEndsAfterTheRetryStartsIsRefused() {
        var timings = ClusterTimings.standard
        timings.selfFenceAfter = seconds(25)  // 25 + 10 ≤ 30 + 10: fits
        #expect((try? timings.validated()) != nil)
        timings.retryGrace = seconds(4)       // 35 > 34: the old copy may still run when the retry starts
        do {
            _ = try timings.validated()
            Issue.record("accepted self-fence 25s + kill 10s against dead 30s + retry 4s")
        } catch {
            #expect(error.flags == ["--self-fence-after", "--dead-after", "--retry-grace"])
            #expect(error.description.contains("could still run when their retry starts on another node"))
        }
    }

    @Test(arguments: [
        (ClusterTimings(leaseTTL: .init(seconds: 15), leaseRenewal: .init(seconds: 5), leaseMargin: .init(seconds: 10),
                        heartbeat: .init(seconds: 5), deadAfter: .init(seconds: 30), selfFenceAfter: .init(seconds: 20),
                        killGrace: .init(seconds: 10), retryGrace: .init(seconds: 10)), "--lease-margin"),
        (ClusterTimings(leaseTTL: .init(seconds: 15), leaseRenewal: .init(seconds: 5), leaseMargin: .init(seconds: 1),
                        heartbeat: .init(seconds: 5), deadAfter: .init(seconds: 10), selfFenceAfter: .init(seconds: 8),
                        killGrace: .init(seconds: 1), retryGrace: .init(seconds: 10)), "--dead-after"),
        (ClusterTimings(leaseTTL: .init(seconds: 15), leaseRenewal: .init(seconds: 5), leaseMargin: .init(seconds: 1),
                        heartbeat: .init(seconds: 5), deadAfter: .init(seconds: 30), selfFenceAfter: .init(seconds: 5),
                        killGrace: .init(seconds: 10), retryGrace: .init(seconds: 10)), "--self-fence-after"),
        (ClusterTimings(leaseTTL: .init(seconds: 15), leaseRenewal: .init(seconds: 0), leaseMargin: .init(seconds: 1),
                        heartbeat: .init(seconds: 5), deadAfter: .init(seconds: 30), selfFenceAfter: .init(seconds: 20),
                        killGrace: .init(seconds: 10), retryGrace: .init(seconds: 10)), "--lease-renew"),
    ])
    func eachRuleNamesItsFlag(timings: ClusterTimings, flag: String) {
        do {
            _ = try timings.validated()
            Issue.record("accepted \(timings)")
        } catch {
            #expect(error.flags.first == flag, "\(error)")
        }
    }
}

@Suite struct LeadershipTests {
    let timings = ClusterTimings.standard  // trust window 14s

    @Test func aLeaderActsUntilTheTrustWindowFromTheRenewalsStartEnds() {
        let start = ContinuousClock.Instant.now
        let leading = Leadership<ContinuousClock.Instant>.following.renewed(epoch: 3, attemptStart: start, timings: timings)
        #expect(leading.epoch(at: start) == 3)
        #expect(leading.epoch(at: start.advanced(by: .seconds(13))) == 3)
        #expect(leading.epoch(at: start.advanced(by: .seconds(14))) == nil)
        #expect(leading.epoch(at: start.advanced(by: .seconds(15))) == nil)
    }

    @Test func aRefusedOrFailedRenewalStopsItAtOnce() {
        let start = ContinuousClock.Instant.now
        let leading = Leadership<ContinuousClock.Instant>.following.renewed(epoch: 3, attemptStart: start, timings: timings)
        #expect(leading.lost().epoch(at: start) == nil)
        #expect(Leadership<ContinuousClock.Instant>.following.epoch(at: start) == nil)
    }
}
