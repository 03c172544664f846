import Foundation
import Testing
@testable import RenkeiCore

/// Renkei's calendar must agree with systemd's: same normalized form, same next elapses, same
/// refusals. The corpus is generated from every grammar feature, alone and combined.
@Suite struct CalendarOracleTests {
    static let baseTimes = [
        "2026-01-26 15:00:00 UTC",
        "2026-01-31 12:00:00 UTC",   // a month end
        "2026-03-29 00:30:00 UTC",   // Europe/Berlin springs forward at 01:00 UTC
        "2026-10-24 23:00:00 UTC",   // Europe/Berlin falls back at 01:00 UTC on the 25th
        "2026-03-08 05:00:00 UTC",   // America/New_York springs forward at 07:00 UTC
        "2026-11-01 04:00:00 UTC",   // America/New_York falls back at 06:00 UTC
        "2028-02-28 22:00:00 UTC",   // before a leap day
        "2026-12-31 22:30:00 UTC",   // a year end
    ]

    static var corpus: [String] {
        let weekdays = ["", "Mon ", "Mon..Fri ", "Sat,Sun ", "Mon,Wed..Fri ", "Tue-Thu ", "sunday ", "Fri,Mon "]
        let dates = ["*-*-*", "*-*-1/2", "2026..2030-01-01", "*-02~03", "*-05~07/1", "*-*~1", "*-1,4,7,10-1", "*-12-24..31",
                     "2028-02-29", "*-02-29", "*-*-31", "26-03-01", "*-*-1..7", "*-01..12/3-01", "*-*-15", "2027-*-*"]
        let times = ["00:00", "06:30", "*:0/15", "8..18/2:00", "*:*:0/10", "12:00:30.5", "02:30", "03:00", "01:30:00", "23:59:59",
                     "0,12:0,30", "*:00", "4:5:6", "02:00..03:00", "*:*:00.25/0.5", "1..3:*/1", "*:59:59"]
        var expressions: [String] = []
        // Every date with every time, each with a weekday prefix taken in turn.
        for (i, date) in dates.enumerated() {
            for (j, time) in times.enumerated() {
                expressions.append(weekdays[(i + j) % weekdays.count] + date + " " + time)
            }
        }
        let zones = [" UTC", " Asia/Tokyo", " Europe/Berlin", " America/New_York"]
        for (i, time) in times.enumerated() {
            expressions.append("*-*-* " + time + zones[i % zones.count])
            expressions.append(time + zones[(i + 1) % zones.count])
        }
        expressions += ["minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually",
                        "Daily", "WEEKLY", "daily Europe/Berlin", "hourly America/New_York", "monthly UTC",
                        "Mon", "Sat..Sun", "06:30", "*:0/5", "*-*-15", "2026-12-31", "@1800000000", "Mon *-*-* 02:30 Europe/Berlin",
                        "*-*-* 02:30 Europe/Berlin", "*-*-* 02:30 America/New_York", "*-*-* 01:30 America/New_York",
                        "*-*-* *:30 Europe/Berlin", "Sun *-*-* 01..03:00 America/New_York", "*-*-* 02:00..03:00/30 Europe/Berlin",
                        "*-03-29 02:30 Europe/Berlin", "*-10-25 02:30 Europe/Berlin", "*-10-25 02:30:00.5 Europe/Berlin",
                        "2026-03-08 02:00..02:59 America/New_York", "*-*-* 23:30 Asia/Tokyo", "Mon..Fri *-*-* 06:30 Asia/Tokyo",
                        "2026..2030/2-*-* 00:00", "*-*-* 8,12,18:00", "*:*:*", "Mon,Tue,Wed,Thu,Fri,Sat,Sun *-*-* 00:00", "Mon..Sun 12:00",
                        "*-12-31 23:59:59.999999", "Sat *-*-1..7 12:00", "*-*~07/7 00:00", "*-*-* *:*:0..59/10", "*-*-* 00:00:00.000001",
                        "Wed..Sat,Tue 12-10-15 1:2:3", "*-*-* *:*:1.5..10.5/0.25", "03-04 05:06", "*-2-29 Europe/Berlin",
                        "Fri *-*-13 13:13", "*-*-01 00:00 America/New_York", "Sun *-03-8..14 02:30 America/New_York",
                        "Sun *-10~01..07 02:30 Europe/Berlin", "*-*-* 00/2:00", "1970-01-01 00:00:01", "2199-12-31 23:59:59",
                        "*-*-* 2..4:00 America/New_York", "*-*-* 00..59/30:00:00", "*-01,02,03-05,10,15 06:00"]
        // What systemd refuses must be refused too.
        expressions += ["bogus", "25:00", "*-13-01", "*-*-32", "Mon..", "*:*/5", "1.5:00", "*-02~29", "2026-1-1 00:00:00:00",
                        "Fri..Mon", "*-*-* 0/0:00", "Mon-", "*-*-* 00:60", "*-*-* 00:00:60", "12:", ":30", "1969-01-01",
                        "2200-01-01", "*-*-* 00:00 Mars/Olympus", "Monday..", "*-*-1..", "*~01", "**:00", "06:30 utc"]
        return expressions
    }

    @Test func corpusIsLarge() {
        #expect(Self.corpus.count >= 300)
    }

    @Test(.enabled(if: SystemdAnalyze.path != nil, "systemd-analyze is installed on every machine here"))
    func agreesWithSystemdAnalyze() throws {
        let expressions = Self.corpus
        var differences: [String] = []
        var compared = 0
        for baseTime in Self.baseTimes {
            let oracle = try SystemdAnalyze.calendar(expressions, baseTime: baseTime, iterations: 5)
            let base = try SystemdAnalyze.parseTime("Xxx " + baseTime) * 1_000_000
            for expression in expressions {
                guard let expected = oracle[expression] else {
                    differences.append("\(expression): systemd-analyze said nothing about it")
                    continue
                }
                compared += 1
                let ours: OracleAnswer
                do {
                    let spec = try CalendarSpec.parse(expression)
                    var elapses: [Int64] = []
                    var cursor = base
                    while elapses.count < 5, let next = spec.nextElapse(after: cursor, in: .utc) {
                        elapses.append(CivilTime.floorDiv(next, 1_000_000))
                        cursor = next
                    }
                    ours = OracleAnswer(normalized: spec.normalizedForm, elapses: elapses)
                } catch {
                    ours = OracleAnswer(normalized: nil, elapses: [])
                }
                if expected.gaveUp {
                    // Renkei must accept it and find no elapse either.
                    if ours.normalized == nil || !ours.elapses.isEmpty {
                        differences.append("\(expression) @ \(baseTime): systemd gives up, Renkei \(ours.normalized ?? "refused") \(ours.elapses)")
                    }
                } else if ours != expected {
                    differences.append("\(expression) @ \(baseTime): systemd \(expected.normalized ?? "refused") \(expected.elapses), Renkei \(ours.normalized ?? "refused") \(ours.elapses)")
                }
            }
        }
        #expect(compared == expressions.count * Self.baseTimes.count)
        let report = "\(differences.count) differences:\n" + differences.prefix(40).joined(separator: "\n")
        #expect(differences.isEmpty, Comment(rawValue: report))
    }
}
