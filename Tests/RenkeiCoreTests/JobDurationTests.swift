import Testing
@testable import RenkeiCore

@Suite struct JobDurationTests {
    @Test(arguments: [("90s", 90), ("5m", 300), ("2h", 7_200), ("1d", 86_400), ("1h30m", 5_400), ("1d2h3m4s", 93_784), ("0s", 0), (" 10s ", 10)])
    func parses(text: String, seconds: Int64) throws {
        #expect(try JobDuration.parse(text).seconds == seconds)
    }

    @Test(arguments: ["", "5", "5 minutes", "m", "1.5h", "5M", "1h 30m", "abc", "５m"])
    func rejectsMalformed(text: String) {
        #expect(throws: JobDuration.ParseError.self) { try JobDuration.parse(text) }
    }

    @Test func rejectsNegativeAndOutOfOrderAndHuge() {
        #expect(throws: JobDuration.ParseError.negative("-1m")) { try JobDuration.parse("-1m") }
        #expect(throws: JobDuration.ParseError.unitOutOfOrder("30m1h")) { try JobDuration.parse("30m1h") }
        #expect(throws: JobDuration.ParseError.unitOutOfOrder("1m1m")) { try JobDuration.parse("1m1m") }
        #expect(throws: JobDuration.ParseError.tooLong("99999999999999999999s")) { try JobDuration.parse("99999999999999999999s") }
    }

    @Test func printsTheShortestSpelling() {
        #expect(JobDuration(seconds: 5_400).description == "1h30m")
        #expect(JobDuration(seconds: 0).description == "0s")
        #expect(JobDuration(seconds: 86_401).description == "1d1s")
    }

    @Test func retryDelaysGrowByBackoffUpToTheCap() {
        let policy = RetryPolicy(limit: 5, delay: JobDuration(seconds: 60), backoff: 2, maxDelay: JobDuration(seconds: 900))
        #expect((1...6).map { policy.delay(beforeRetry: $0).seconds } == [60, 120, 240, 480, 900, 900])
    }
}
