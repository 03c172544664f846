import Testing
@testable import RenkeiCore

@Suite struct RunStateTests {
    @Test func aRunGoesFromQueuedThroughRunningToAnEnd() throws {
        let running = try RunState.queued.applying(.start)
        #expect(running == .running)
        for end in [RunState.succeeded, .failed, .timedOut, .cancelled, .interrupted] {
            #expect(try running.applying(.finish(end)) == end)
        }
        #expect(try RunState.running.applying(.interrupt) == .interrupted)
        #expect(try RunState.queued.applying(.cancel) == .cancelled)
    }

    @Test func impossibleTransitionsAreRefused() {
        #expect(throws: RunState.InvalidTransition.self) { try RunState.succeeded.applying(.start) }
        #expect(throws: RunState.InvalidTransition.self) { try RunState.running.applying(.start) }
        #expect(throws: RunState.InvalidTransition.self) { try RunState.running.applying(.finish(.missed)) }
        #expect(throws: RunState.InvalidTransition.self) { try RunState.running.applying(.finish(.queued)) }
        #expect(throws: RunState.InvalidTransition.self) { try RunState.failed.applying(.interrupt) }
        #expect(throws: RunState.InvalidTransition.self) { try RunState.missed.applying(.finish(.failed)) }
    }

    @Test func theFirstFailingStepDecidesTheOutcome() {
        #expect(RunOutcome.decide([("a", .exited(0)), ("b", .exited(0))]) == .succeeded)
        let failed = RunOutcome.decide([("export", .exited(0)), ("deliver", .exited(2))])
        #expect(failed.state == .failed)
        #expect(failed.errorClass == .exit)
        #expect(failed.exitStatus == 2)
        #expect(failed.message == "step deliver: exit status 2")
        #expect(RunOutcome.decide([("a", .signaled(9))]).errorClass == .signal)
        #expect(RunOutcome.decide([("a", .signaled(9))]).message == "step a: killed by SIGKILL (9)")
        #expect(RunOutcome.decide([("a", .timedOut(limit: JobDuration(seconds: 60), killed: true))]).state == .timedOut)
        #expect(RunOutcome.decide([("a", .spawnFailed("/x: No such file or directory"))]).errorClass == .spawn)
        #expect(RunOutcome.decide([("a", .cancelled)]).state == .cancelled)
    }

    @Test func logicalTimeFormatsAndParsesInTheJobsZone() throws {
        let tokyo = try LogicalTime.parse("2026-11-26 06:30", zoneIdentifier: "Asia/Tokyo")
        #expect(tokyo.iso8601 == "2026-11-26T06:30:00+09:00")
        #expect(tokyo.date == "2026-11-26")
        let utc = try LogicalTime.parse("2026-11-25T21:30:00Z", zoneIdentifier: "Asia/Tokyo")
        #expect(utc.epochSeconds == tokyo.epochSeconds)
        #expect(try LogicalTime.parse("2026-11-26", zoneIdentifier: "Asia/Tokyo").iso8601 == "2026-11-26T00:00:00+09:00")
        #expect(try LogicalTime.parse("2026-07-01T12:00:00-04:00", zoneIdentifier: "America/New_York").iso8601 == "2026-07-01T12:00:00-04:00")
        #expect(throws: LogicalTime.ParseError.self) { try LogicalTime.parse("2026-02-30", zoneIdentifier: "UTC") }
        #expect(throws: LogicalTime.ParseError.self) { try LogicalTime.parse("yesterday", zoneIdentifier: "UTC") }
    }

    @Test func outputTailKeepsTheLastBytes() {
        var tail = OutputTail(capacity: 8)
        tail.append(Array("hello ".utf8))
        tail.append(Array("world!".utf8))
        #expect(String(decoding: tail.bytes, as: UTF8.self) == "o world!")
        #expect(tail.totalBytes == 12)
        #expect(tail.isTruncated)
        for _ in 0..<100 { tail.append(Array("abc".utf8)) }
        #expect(String(decoding: tail.bytes, as: UTF8.self) == "bcabcabc")
    }

    @Test func outputLinesSplitsAndBoundsLongLines() {
        var splitter = OutputLines(maximumLength: 4)
        var lines: [String] = []
        splitter.feed(Array("ab\ncdefgh".utf8)) { lines.append(String(decoding: $0, as: UTF8.self)) }
        splitter.feed(Array("i\n\nj".utf8)) { lines.append(String(decoding: $0, as: UTF8.self)) }
        splitter.finish { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(lines == ["ab", "cdef", "ghi", "", "j"])
    }
}
