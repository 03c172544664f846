import Foundation
import Testing

@Suite struct CalendarCommandTests {
    @Test func jsonIsOneArrayInOrderWithUTCTimes() throws {
        let result = try execute(renkeictl, ["calendar", "Mon..Fri *-*-* 06:30", "*:*:0/0.5", "30 6 * * 1-5",
                                             "--timezone", "Asia/Tokyo", "--base-time", "2026-01-26T15:00:00Z", "--iterations", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["expression"] as? String } == ["Mon..Fri *-*-* 06:30", "*:*:0/0.5", "30 6 * * 1-5"])
        #expect(array[0]["normalized"] as? String == "Mon..Fri *-*-* 06:30:00")
        #expect(array[0]["next"] as? [String] == ["2026-01-26T21:30:00Z", "2026-01-27T21:30:00Z"])
        #expect(array[1]["next"] as? [String] == ["2026-01-26T15:00:00.500000Z", "2026-01-26T15:00:01.000000Z"])
        #expect(array[2]["next"] as? [String] == ["2026-01-26T21:30:00Z", "2026-01-27T21:30:00Z"])
    }

    @Test func systemdsBaseTimeFormAndClosedDays() throws {
        let result = try execute(renkeictl, ["calendar", "*-*-* 09:00", "--timezone", "Asia/Tokyo", "--base-time", "2026-05-01 10:00:00 Asia/Tokyo",
                                             "--closed-days", "jp-municipal", "--on-closed-day", "after", "--iterations", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        // 5/2–5/6 are closed: each moves to Thursday 5/7 09:00 JST.
        #expect(array[0]["next"] as? [String] == ["2026-05-07T00:00:00Z", "2026-05-07T00:00:00Z"])
        let slots = try #require(array[0]["slots"] as? [[String: Any]])
        #expect(slots.first?["logical_time"] as? String == "2026-05-02T00:00:00Z")
        #expect(slots.first?["closed_day"] as? Bool == true)
    }

    @Test func anInvalidExpressionExits2WithTheErrorOnStderr() throws {
        let result = try execute(renkeictl, ["calendar", "daily", "*-13-01", "--json"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("invalid calendar expression '*-13-01' at '13-01' (column 3): out of range: month (1…12)"))
    }

    @Test func textLooksLikeSystemdAnalyze() throws {
        let result = try execute(renkeictl, ["calendar", "weekly", "--timezone", "UTC", "--base-time", "2026-01-26T15:00:00Z", "--iterations", "2"])
        #expect(result.status == 0)
        #expect(result.stdout == """
              Original form: weekly
            Normalized form: Mon *-*-* 00:00:00
                Next elapse: Mon 2026-02-02 00:00:00 UTC
                   Iter. #2: Mon 2026-02-09 00:00:00 UTC

            """)
    }

    @Test func checkShowsTheNextRunTimesOfEachJob() throws {
        let scratch = try Scratch()
        scratch.writeJob("daily", "schedule: \"*-*-* 06:30\"\ntimezone: Asia/Tokyo\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let result = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "ok  daily  \"*-*-* 06:30\" (Asia/Tokyo), 1 step")
        #expect(lines.count == 2)
        #expect(lines.last?.hasPrefix("    next: ") == true)
        #expect(lines.last?.components(separatedBy: "06:30:00 +09:00").count == 4)
    }
}
