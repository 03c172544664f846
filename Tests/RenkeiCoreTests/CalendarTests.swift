import Testing
@testable import RenkeiCore

/// Microseconds since the epoch of a UTC wall time.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Int64 {
    BrokenDownTime(year: year, month: month - 1, day: day, hour: hour, minute: minute, second: second).secondsAsUTC * 1_000_000
}

/// `2026-01-26T15:15:00Z` for microseconds since the epoch.
func iso(_ microseconds: Int64) -> String {
    LogicalTime.iso8601(CivilTime.floorDiv(microseconds, 1_000_000), in: .utc, utcAsZ: true)
}

func next(_ schedule: Schedule, after: Int64, in zone: String = "UTC", count: Int = 3) -> [String] {
    let rules = ZoneRules.named(zone)!
    var times: [String] = []
    var cursor = after
    while times.count < count, let elapse = schedule.nextElapse(after: cursor, in: rules) {
        times.append(iso(elapse))
        cursor = elapse
    }
    return times
}

@Suite struct CalendarSpecTests {
    @Test func shorthandsNormalizeAsSystemdDoes() throws {
        #expect(try CalendarSpec.parse("minutely").normalizedForm == "*-*-* *:*:00")
        #expect(try CalendarSpec.parse("weekly").normalizedForm == "Mon *-*-* 00:00:00")
        #expect(try CalendarSpec.parse("quarterly").normalizedForm == "*-01,04,07,10-01 00:00:00")
        #expect(try CalendarSpec.parse("semiannually").normalizedForm == "*-01,07-01 00:00:00")
        #expect(try CalendarSpec.parse("Mon..Fri *-*-* 06:30").normalizedForm == "Mon..Fri *-*-* 06:30:00")
        #expect(try CalendarSpec.parse("Sat,Sun,Mon *-02~03 8..18/2:00").normalizedForm == "Mon,Sat,Sun *-02~03 08..18/2:00:00")
        #expect(try CalendarSpec.parse("*:0/15 Asia/Tokyo").normalizedForm == "*-*-* *:00/15:00 Asia/Tokyo")
    }

    @Test func theJobsZoneActsLikeASuffix() throws {
        let base = utc(2026, 10, 24, 20)
        let withSuffix = try Schedule.parse("*-*-* 02:30 Europe/Berlin")
        let withJobZone = try Schedule.parse("*-*-* 02:30")
        #expect(next(withSuffix, after: base, count: 5) == next(withJobZone, after: base, in: "Europe/Berlin", count: 5))
        // The suffix wins over the job's zone.
        #expect(next(withSuffix, after: base, in: "Asia/Tokyo") == next(withSuffix, after: base))
        #expect(next(withJobZone, after: utc(2026, 1, 26), in: "Asia/Tokyo", count: 1) == ["2026-01-26T17:30:00Z"])
    }

    @Test func refusalsPointAtTheBadPart() {
        func refusal(_ expression: String) -> CalendarError? {
            do { _ = try CalendarSpec.parse(expression); return nil } catch { return error }
        }
        #expect(refusal("*-13-01")?.column == 3)
        #expect(refusal("*-13-01")?.reason == "out of range: month (1…12)")
        #expect(refusal("Mon..Fri *-*-* 25:30")?.column == 16)
        #expect(refusal("Mon..Fry 06:30")?.column == 6)
        #expect(refusal("*-*-* 06:30:61")?.column == 13)
        #expect(refusal("*-*-* 0/0:00")?.reason == "a repetition cannot be 0")
        #expect(refusal("bogus")?.description == "invalid calendar expression 'bogus' at 'bogus' (column 1): not a calendar expression: expected a weekday (Mon), a date (*-*-* or 2026-04-01), a time (06:30) or a shorthand (daily, weekly, …)")
        #expect(refusal("Mon..")?.description.contains("at the end") == true)
        #expect(refusal("06:30 Mars/Olympus") != nil)
    }

    @Test func anExpressionThatCannotElapseSaysNever() throws {
        #expect(try CalendarSpec.parse("*-02-30").nextElapse(after: utc(2026, 1, 1), in: .utc) == nil)
        #expect(try CalendarSpec.parse("2020-01-01").nextElapse(after: utc(2026, 1, 1), in: .utc) == nil)
    }

    @Test func fractionalSecondsAreKept() throws {
        let spec = try CalendarSpec.parse("*:*:0/0.25")
        #expect(spec.hasFractionalSeconds)
        let first = try #require(spec.nextElapse(after: utc(2026, 1, 26, 15), in: .utc))
        #expect(first == utc(2026, 1, 26, 15) + 250_000)
    }

    @Test func zoneRulesFollowTheTzDatabaseAndItsFooter() throws {
        let berlin = try #require(ZoneRules.named("Europe/Berlin"))
        #expect(berlin.offset(at: utc(2026, 1, 1) / 1_000_000) == 3600)
        #expect(berlin.offset(at: utc(2026, 7, 1) / 1_000_000) == 7200)
        // 2050 is past the file's transitions: the POSIX footer decides.
        #expect(berlin.offset(at: utc(2050, 3, 27, 0, 59, 59) / 1_000_000) == 3600)
        #expect(berlin.offset(at: utc(2050, 3, 27, 1) / 1_000_000) == 7200)
        #expect(ZoneRules.named("Asia/Tokyo")?.offset(at: 0) == 32_400)
        #expect(ZoneRules.named("../../etc/passwd") == nil)
        #expect(ZoneRules.named("Asia/Tokio") == nil)
        #expect(PosixZoneRule.parse("<+0330>-3:30") == PosixZoneRule(standardOffset: 12_600, daylightOffset: nil, start: nil, end: nil))
        let sydney = try #require(PosixZoneRule.parse("AEST-10AEDT,M10.1.0,M4.1.0/3"))
        #expect(sydney.localTimeType(at: utc(2050, 1, 15) / 1_000_000).isDST)
        #expect(!sydney.localTimeType(at: utc(2050, 7, 15) / 1_000_000).isDST)
    }
}

@Suite struct CronTests {
    /// Expected times worked out by hand and checked against croniter 6 (a widely used cron
    /// library); base Monday 2026-01-26 15:00 UTC.
    static let table: [(String, [String])] = [
        ("*/15 * * * *", ["2026-01-26T15:15:00Z", "2026-01-26T15:30:00Z", "2026-01-26T15:45:00Z"]),
        ("30 6 * * 1-5", ["2026-01-27T06:30:00Z", "2026-01-28T06:30:00Z", "2026-01-29T06:30:00Z"]),
        ("0 0 1 * *", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]),
        // Day of month and day of week both restricted: either matches (Vixie cron).
        ("0 12 1 * Mon", ["2026-02-01T12:00:00Z", "2026-02-02T12:00:00Z", "2026-02-09T12:00:00Z"]),
        ("0 7 15 * 1-5", ["2026-01-27T07:00:00Z", "2026-01-28T07:00:00Z", "2026-01-29T07:00:00Z"]),
        ("0 9 * * 0", ["2026-02-01T09:00:00Z", "2026-02-08T09:00:00Z", "2026-02-15T09:00:00Z"]),
        ("0 9 * * 7", ["2026-02-01T09:00:00Z", "2026-02-08T09:00:00Z", "2026-02-15T09:00:00Z"]),
        ("0 22 * * sat,SUN", ["2026-01-31T22:00:00Z", "2026-02-01T22:00:00Z", "2026-02-07T22:00:00Z"]),
        ("5 4 * jan-mar *", ["2026-01-27T04:05:00Z", "2026-01-28T04:05:00Z", "2026-01-29T04:05:00Z"]),
        ("0 0 29 2 *", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"]),
        ("0 */6 * * *", ["2026-01-26T18:00:00Z", "2026-01-27T00:00:00Z", "2026-01-27T06:00:00Z"]),
        ("10-20/5 8 * * *", ["2026-01-27T08:10:00Z", "2026-01-27T08:15:00Z", "2026-01-27T08:20:00Z"]),
        ("0 0 1,15 * *", ["2026-02-01T00:00:00Z", "2026-02-15T00:00:00Z", "2026-03-01T00:00:00Z"]),
        ("0 8 * 2 *", ["2026-02-01T08:00:00Z", "2026-02-02T08:00:00Z", "2026-02-03T08:00:00Z"]),
        ("@weekly", ["2026-02-01T00:00:00Z", "2026-02-08T00:00:00Z", "2026-02-15T00:00:00Z"]),
        ("@hourly", ["2026-01-26T16:00:00Z", "2026-01-26T17:00:00Z", "2026-01-26T18:00:00Z"]),
        ("@monthly", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]),
    ]

    @Test func theTable() throws {
        for (expression, expected) in Self.table {
            let schedule = try Schedule.parse(expression)
            guard case .cron = schedule else { Issue.record("\(expression) was not read as cron"); continue }
            #expect(next(schedule, after: utc(2026, 1, 26, 15)) == expected, "\(expression)")
        }
    }

    @Test func daylightSavingChanges() throws {
        let daily = try Schedule.parse("30 2 * * *")
        // 02:30 does not exist on 2026-03-29 in Berlin: it runs at the jump (03:00 CEST), as cron does.
        #expect(next(daily, after: utc(2026, 3, 28, 11), in: "Europe/Berlin") == ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"])
        // 02:30 happens twice on 2026-10-25: it runs once, at the first (croniter would run it twice).
        #expect(next(daily, after: utc(2026, 10, 24, 10), in: "Europe/Berlin") == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"])
        let hourly = try Schedule.parse("0 * * * *")
        #expect(next(hourly, after: utc(2026, 3, 28, 23, 30), in: "Europe/Berlin") == ["2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"])
        let early = try Schedule.parse("30 1 * * *")
        #expect(next(early, after: utc(2026, 3, 8), in: "America/New_York", count: 2) == ["2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"])
    }

    @Test func outsideDaylightSavingItElapsesAsItsSystemdForm() throws {
        for expression in ["*/7 3-5 * * *", "0 12 1 * Mon", "15 6 1-7 * 1", "0 0 * 2,8 sun"] {
            let cron = try Schedule.parse(expression)
            let systemdForms = try cron.normalizedForm.components(separatedBy: "; ").map { try Schedule.parse($0) }
            var cursor = utc(2026, 1, 5)
            for _ in 0..<50 {
                let ours = try #require(cron.nextElapse(after: cursor, in: .utc))
                let theirs = try #require(systemdForms.compactMap { $0.nextElapse(after: cursor, in: .utc) }.min())
                #expect(ours == theirs, "\(expression) after \(iso(cursor))")
                cursor = ours
            }
        }
    }

    @Test func badFieldsAreNamed() throws {
        func message(_ expression: String) -> String? {
            do { _ = try Schedule.parse(expression); return nil } catch { return error.description }
        }
        #expect(message("60 * * * *")?.contains("minute field '60': 60 is outside 0–59") == true)
        #expect(message("0 0 * * 8")?.contains("day of week field '8': 8 is outside 0–7") == true)
        #expect(message("0 0 * foo *")?.contains("month field 'foo': 'foo' is not a number or a name such as Jan") == true)
        #expect(message("0 0 10-5 * *")?.contains("goes backwards") == true)
        #expect(message("*/0 * * * *")?.contains("above 0") == true)
        #expect(message("@reboot")?.contains("not a schedule") == true)
        #expect(message("0 0 * * 1")?.isEmpty != false)
        // `@1800000000` is systemd's timestamp syntax, not cron.
        let timestamp = try Schedule.parse("@1800000000")
        #expect(timestamp.normalizedForm == "2027-01-15 08:00:00 UTC")
    }
}
