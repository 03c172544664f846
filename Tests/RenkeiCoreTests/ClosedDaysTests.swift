import Testing
@testable import RenkeiCore

@Suite struct ClosedDaysTests {
    /// National holidays 2020–2030 as the Cabinet Office (内閣府) publishes them ("国民の祝日について",
    /// 2020–2027 published; 2028–2030 by the same law, equinoxes by the standard formula),
    /// substitute and citizens' holidays included. MM-DD per year.
    static let cabinetOffice: [Int: String] = [
        2020: "01-01 01-13 02-11 02-23 02-24 03-20 04-29 05-03 05-04 05-05 05-06 07-23 07-24 08-10 09-21 09-22 11-03 11-23",
        2021: "01-01 01-11 02-11 02-23 03-20 04-29 05-03 05-04 05-05 07-22 07-23 08-08 08-09 09-20 09-23 11-03 11-23",
        2022: "01-01 01-10 02-11 02-23 03-21 04-29 05-03 05-04 05-05 07-18 08-11 09-19 09-23 10-10 11-03 11-23",
        2023: "01-01 01-02 01-09 02-11 02-23 03-21 04-29 05-03 05-04 05-05 07-17 08-11 09-18 09-23 10-09 11-03 11-23",
        2024: "01-01 01-08 02-11 02-12 02-23 03-20 04-29 05-03 05-04 05-05 05-06 07-15 08-11 08-12 09-16 09-22 09-23 10-14 11-03 11-04 11-23",
        2025: "01-01 01-13 02-11 02-23 02-24 03-20 04-29 05-03 05-04 05-05 05-06 07-21 08-11 09-15 09-23 10-13 11-03 11-23 11-24",
        2026: "01-01 01-12 02-11 02-23 03-20 04-29 05-03 05-04 05-05 05-06 07-20 08-11 09-21 09-22 09-23 10-12 11-03 11-23",
        2027: "01-01 01-11 02-11 02-23 03-21 03-22 04-29 05-03 05-04 05-05 07-19 08-11 09-20 09-23 10-11 11-03 11-23",
        2028: "01-01 01-10 02-11 02-23 03-20 04-29 05-03 05-04 05-05 07-17 08-11 09-18 09-22 10-09 11-03 11-23",
        2029: "01-01 01-08 02-11 02-12 02-23 03-20 04-29 04-30 05-03 05-04 05-05 07-16 08-11 09-17 09-23 09-24 10-08 11-03 11-23",
        2030: "01-01 01-14 02-11 02-23 03-20 04-29 05-03 05-04 05-05 05-06 07-15 08-11 08-12 09-16 09-23 10-14 11-03 11-04 11-23",
    ]

    @Test(arguments: 2020...2030)
    func nationalHolidaysMatchTheCabinetOfficeList(year: Int) {
        let expected = Set(Self.cabinetOffice[year]!.split(separator: " ").map { text in
            JapaneseHolidays.Day(year: year, month: Int(text.prefix(2))!, day: Int(text.suffix(2))!)
        })
        let computed = JapaneseHolidays.holidays(in: year)
        #expect(computed == expected, "missing \(expected.subtracting(computed).sorted()), extra \(computed.subtracting(expected).sorted())")
    }

    @Test func theEnthronementYear() {
        let year2019 = JapaneseHolidays.holidays(in: 2019)
        for (month, day) in [(4, 30), (5, 1), (5, 2), (10, 22)] {
            #expect(year2019.contains(.init(year: 2019, month: month, day: day)))
        }
        #expect(!year2019.contains(.init(year: 2019, month: 12, day: 23)))
        #expect(JapaneseHolidays.holidays(in: 2018).contains(.init(year: 2018, month: 12, day: 23)))
    }

    @Test func jpMunicipalIsWeekendsHolidaysAndTheYearEnd() {
        let city = ClosedDays(jpMunicipal: true)
        #expect(city.isClosed(.init(year: 2026, month: 11, day: 28)))   // Saturday
        #expect(city.isClosed(.init(year: 2026, month: 11, day: 29)))   // Sunday
        #expect(city.isClosed(.init(year: 2026, month: 11, day: 23)))   // 勤労感謝の日
        #expect(!city.isClosed(.init(year: 2026, month: 11, day: 27)))  // a Friday
        for day in [29, 30, 31] { #expect(city.isClosed(.init(year: 2026, month: 12, day: day))) }
        for day in [1, 2, 3] { #expect(city.isClosed(.init(year: 2027, month: 1, day: day))) }
        #expect(!city.isClosed(.init(year: 2027, month: 1, day: 4)))
        #expect(!ClosedDays().isClosed(.init(year: 2026, month: 11, day: 28)))
    }

    @Test func closedDayFiles() throws {
        let parsed = ClosedDays.parseDates("# maintenance\n2026-12-28\n\n  2027-01-04  # system update\n")
        let dates = try parsed.get()
        #expect(dates == [.init(year: 2026, month: 12, day: 28), .init(year: 2027, month: 1, day: 4)])
        guard case .failure(let problem) = ClosedDays.parseDates("2026-12-28\n  2026-02-30\n") else {
            Issue.record("2026-02-30 was accepted")
            return
        }
        #expect(problem == ClosedDays.FileProblem(line: 2, column: 3, message: "'2026-02-30' is not a date: write one YYYY-MM-DD per line (# starts a comment)"))
    }

    private func runs(_ expression: String, _ policy: OnClosedDay, from: Int64, count: Int, extra: Set<JapaneseHolidays.Day> = []) throws -> [String] {
        let schedule = JobSchedule(schedule: try Schedule.parse(expression), zone: ZoneRules.named("Asia/Tokyo")!,
                                   closedDays: ClosedDays(jpMunicipal: true, extraDates: extra), onClosedDay: policy)
        return schedule.slots(after: from, count: count).map { slot in
            let logical = LogicalTime(epochSeconds: slot.logicalTime / 1_000_000, zoneIdentifier: "Asia/Tokyo")
            guard let runAt = slot.runAt else { return "\(logical.date) skipped" }
            let run = LogicalTime(epochSeconds: runAt / 1_000_000, zoneIdentifier: "Asia/Tokyo")
            return run.date == logical.date ? "\(logical.date) \(run.iso8601.dropFirst(11).prefix(5))" : "\(logical.date)→\(run.date) \(run.iso8601.dropFirst(11).prefix(5))"
        }
    }

    @Test func goldenWeek2026() throws {
        // 4/29 (Wed) 昭和の日; 5/2 Sat, 5/3 Sun, 5/4 (Mon), 5/5 (Tue), 5/6 (Wed) 振替休日.
        let from = utc(2026, 4, 27, 21)  // 2026-04-28 06:00 JST
        #expect(try runs("*-*-* 06:30", .skip, from: from, count: 10) == [
            "2026-04-28 06:30", "2026-04-29 skipped", "2026-04-30 06:30", "2026-05-01 06:30", "2026-05-02 skipped",
            "2026-05-03 skipped", "2026-05-04 skipped", "2026-05-05 skipped", "2026-05-06 skipped", "2026-05-07 06:30",
        ])
        #expect(try runs("*-*-* 06:30", .after, from: from, count: 10) == [
            "2026-04-28 06:30", "2026-04-29→2026-04-30 06:30", "2026-04-30 06:30", "2026-05-01 06:30", "2026-05-02→2026-05-07 06:30",
            "2026-05-03→2026-05-07 06:30", "2026-05-04→2026-05-07 06:30", "2026-05-05→2026-05-07 06:30", "2026-05-06→2026-05-07 06:30", "2026-05-07 06:30",
        ])
        #expect(try runs("*-*-* 06:30", .before, from: from, count: 10) == [
            "2026-04-28 06:30", "2026-04-29→2026-04-28 06:30", "2026-04-30 06:30", "2026-05-01 06:30", "2026-05-02→2026-05-01 06:30",
            "2026-05-03→2026-05-01 06:30", "2026-05-04→2026-05-01 06:30", "2026-05-05→2026-05-01 06:30", "2026-05-06→2026-05-01 06:30", "2026-05-07 06:30",
        ])
    }

    @Test func theYearEndAndAMaintenanceDay() throws {
        // 12/26 Sat … 1/3 Sun closed; 1/4 (Mon) a maintenance day here, so the next open day is 1/5.
        let from = utc(2026, 12, 27, 0)  // 2026-12-27 09:00 JST
        let maintenance: Set<JapaneseHolidays.Day> = [.init(year: 2027, month: 1, day: 4)]
        #expect(try runs("Mon..Fri *-*-* 09:00", .after, from: from, count: 6, extra: maintenance) == [
            "2026-12-28 09:00", "2026-12-29→2027-01-05 09:00", "2026-12-30→2027-01-05 09:00", "2026-12-31→2027-01-05 09:00",
            "2027-01-01→2027-01-05 09:00", "2027-01-04→2027-01-05 09:00",
        ])
        #expect(try runs("Mon..Fri *-*-* 09:00", .before, from: from, count: 3) == [
            "2026-12-28 09:00", "2026-12-29→2026-12-28 09:00", "2026-12-30→2026-12-28 09:00",
        ])
    }
}
