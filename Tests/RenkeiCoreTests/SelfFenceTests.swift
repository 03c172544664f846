import Testing
@testable import RenkeiCore

/// A fake monotonic clock: instants are whole seconds since the node started.
struct FakeInstant: InstantProtocol {
    var offset: Duration
    static func seconds(_ value: Int) -> FakeInstant { FakeInstant(offset: .seconds(value)) }
    func advanced(by duration: Duration) -> FakeInstant { FakeInstant(offset: offset + duration) }
    func duration(to other: FakeInstant) -> Duration { other.offset - offset }
    static func < (lhs: FakeInstant, rhs: FakeInstant) -> Bool { lhs.offset < rhs.offset }
}

@Suite struct SelfFenceTests {
    /// Heartbeat 5s, self-fence after 20s, kill grace 10s.
    let timings = ClusterTimings.standard
    typealias Fence = SelfFence<FakeInstant>
    func at(_ seconds: Int) -> FakeInstant { .seconds(seconds) }

    @Test func aNodeWhoseHeartbeatsSucceedNeverFences() {
        var fence = Fence.registered(at: at(0))
        for second in stride(from: 5, through: 300, by: 5) {
            fence = fence.heartbeatSucceeded(attemptStart: at(second))
            let (next, orders) = fence.advanced(to: at(second + 4), timings: timings)
            fence = next
            #expect(orders.isEmpty)
            #expect(fence.mayWrite(at: at(second + 4), timings: timings))
        }
    }

    @Test func failedHeartbeatsFenceAtTheLimitFromTheLastGoodStartThenKillAfterTheGrace() {
        var fence = Fence.registered(at: at(0)).heartbeatSucceeded(attemptStart: at(5))
        fence = fence.heartbeatFailed()
        #expect(fence == .late(lastGood: at(5)))
        var (next, orders) = fence.advanced(to: at(24), timings: timings)
        #expect(orders.isEmpty)
        #expect(next.mayWrite(at: at(24), timings: timings))
        #expect(next.fenceDue(timings: timings) == at(25))

        (next, orders) = next.advanced(to: at(25), timings: timings)
        #expect(orders == [.terminateSteps])
        #expect(next == .terminating(since: at(25)))
        #expect(!next.mayWrite(at: at(25), timings: timings))

        (next, orders) = next.advanced(to: at(34), timings: timings)
        #expect(orders.isEmpty, "SIGKILL before the kill grace ended")
        (next, orders) = next.advanced(to: at(35), timings: timings)
        #expect(orders == [.killSteps])
        (next, orders) = next.advanced(to: at(60), timings: timings)
        #expect(orders.isEmpty, "an order was given twice")
        #expect(next == .killed(since: at(25)))
    }

    @Test func aLateTickCountsFromWhenTheFenceWasDueSoTheKillIsNotPostponed() {
        let fence = Fence.registered(at: at(0)).heartbeatFailed()
        // The event loop was stalled: the first tick after the 20s limit comes at 27s.
        let (next, orders) = fence.advanced(to: at(27), timings: timings)
        #expect(orders == [.terminateSteps])
        #expect(next == .terminating(since: at(20)))
        #expect(next.advanced(to: at(29), timings: timings).1.isEmpty)
        #expect(next.advanced(to: at(30), timings: timings).1 == [.killSteps], "SIGKILL later than limit + kill grace")
        // A tick later than both gives both orders at once.
        #expect(Fence.registered(at: at(0)).advanced(to: at(31), timings: timings).1 == [.terminateSteps, .killSteps])
    }

    @Test func aHeartbeatStartedBeforeTheLimitButAnsweredAfterItDoesNotUnfence() {
        var fence = Fence.registered(at: at(0))
        // The heartbeat sent at 19s hangs; at 20s the node fences.
        var orders: [Fence.Order]
        (fence, orders) = fence.advanced(to: at(20), timings: timings)
        #expect(orders == [.terminateSteps])
        // Its answer arrives at 22s: it says nothing about 19s…22s; the fence stands.
        fence = fence.heartbeatSucceeded(attemptStart: at(19))
        #expect(fence == .terminating(since: at(20)))
        #expect(!fence.mayWrite(at: at(22), timings: timings))
        (fence, orders) = fence.advanced(to: at(30), timings: timings)
        #expect(orders == [.killSteps])
        // A heartbeat started after the fence and answered: the node is healthy again, from its start.
        fence = fence.heartbeatSucceeded(attemptStart: at(31))
        #expect(fence == .healthy(lastGood: at(31)))
        #expect(fence.mayWrite(at: at(50), timings: timings))
        #expect(!fence.mayWrite(at: at(51), timings: timings))
    }

    @Test func aSlowAnswerCountsFromItsStartNotItsArrival() {
        // Healthy; a heartbeat starts at 10s and its answer comes at 29s.
        var fence = Fence.registered(at: at(0)).heartbeatSucceeded(attemptStart: at(10))
        #expect(fence.mayWrite(at: at(29), timings: timings))
        #expect(!fence.mayWrite(at: at(30), timings: timings), "the limit was counted from the answer")
        let (_, orders) = fence.advanced(to: at(30), timings: timings)
        #expect(orders == [.terminateSteps])
        // An older heartbeat's answer arriving after a newer one's never moves the instant back.
        fence = fence.heartbeatSucceeded(attemptStart: at(4))
        #expect(fence == .healthy(lastGood: at(10)))
    }

    @Test func aNodeDeclaredDeadKillsAtOnceAndRegistersAgainOnce() {
        let fence = Fence.registered(at: at(0))
        let (dead, orders) = fence.heartbeatFoundDeclaredDead()
        #expect(orders == [.killSteps, .registerAgain])
        #expect(!dead.mayWrite(at: at(1), timings: timings))
        #expect(dead.heartbeatFoundDeclaredDead().1.isEmpty)
        #expect(dead.advanced(to: at(100), timings: timings).1.isEmpty)
        // A late success of the old incarnation cannot bring it back.
        #expect(dead.heartbeatSucceeded(attemptStart: at(2)) == .declaredDead)
        #expect(dead.fenceDue(timings: timings) == nil)
    }
}
