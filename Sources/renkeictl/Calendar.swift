import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiRuntime

struct CalendarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "Show when calendar expressions elapse: their normalized form and next times.",
        discussion: """
            Reads systemd calendar expressions (as OnCalendar= in a .timer, 'man systemd.time') and \
            5-field cron. The times are those systemd-analyze calendar prints; --closed-days and \
            --on-closed-day show what a job's closed days do to them.

            Examples:
              renkeictl calendar "Mon..Fri *-*-* 06:30" --timezone Asia/Tokyo --iterations 5
              renkeictl calendar "30 6 * * 1-5" --closed-days jp-municipal --on-closed-day after
              renkeictl calendar "*-*-* 02:30 Europe/Berlin" --base-time 2026-10-24T00:00:00Z --json
            """
    )

    @Argument(help: ArgumentHelp("Calendar expressions or cron lines (quote each).", valueName: "EXPR"))
    var expressions: [String]

    @Option(help: "How many next times to show.")
    var iterations: Int = 1

    @Option(help: ArgumentHelp("Show times after T instead of now: ISO 8601 with an offset or Z, or 'YYYY-MM-DD HH:MM:SS ZONE'.", valueName: "T"))
    var baseTime: String?

    @Option(help: ArgumentHelp("Zone for expressions that name none, as a job's 'timezone:' (default: the machine's).", valueName: "TZ"))
    var timezone: String?

    @Option(help: ArgumentHelp("Closed days to apply: jp-municipal or a file of dates; repeatable.", valueName: "NAME|FILE"))
    var closedDays: [String] = []

    @Option(help: ArgumentHelp("What a slot on a closed day does: skip, before or after.", valueName: "MODE"))
    var onClosedDay: String = "skip"

    @Flag(help: "Print one JSON array, one object per expression.")
    var json = false

    func validate() throws {
        guard iterations >= 1 && iterations <= 10_000 else { throw ValidationError("--iterations must be 1 to 10000") }
        guard OnClosedDay(rawValue: onClosedDay) != nil else { throw ValidationError("--on-closed-day must be skip, before or after") }
        if let timezone, !TimeZoneCatalog.isKnown(timezone) {
            throw ValidationError("--timezone: unknown time zone '\(timezone)': use a tz database name such as Asia/Tokyo or UTC")
        }
    }

    func run() throws {
        let zoneName = timezone ?? MachineTimeZone.identifier
        let zone = ZoneRules.named(zoneName) ?? .utc
        let base: Int64
        if let baseTime {
            do { base = try LogicalTime.parse(baseTime, zoneIdentifier: zoneName).epochSeconds * 1_000_000 } catch {
                throw Failure(.usage, "--base-time: \(error)")
            }
        } else {
            base = Int64(Date().timeIntervalSince1970 * 1_000_000)
        }
        var closed = ClosedDays()
        for name in closedDays {
            if name == "jp-municipal" {
                closed.jpMunicipal = true
                continue
            }
            guard let data = FileManager.default.contents(atPath: name), let text = String(data: data, encoding: .utf8) else {
                throw Failure(.usage, "--closed-days: '\(name)' is not jp-municipal and cannot be read as a file of dates")
            }
            switch ClosedDays.parseDates(text) {
            case .success(let dates): closed.extraDates.formUnion(dates)
            case .failure(let problem): throw Failure(.usage, "\(name):\(problem.line):\(problem.column): error: \(problem.message)")
            }
        }

        var reports: [ExpressionReport] = []
        var failed = false
        for expression in expressions {
            do {
                let schedule = try Schedule.parse(expression)
                let jobSchedule = JobSchedule(schedule: schedule, zone: zone, closedDays: closed, onClosedDay: OnClosedDay(rawValue: onClosedDay)!)
                reports.append(ExpressionReport(expression: expression, schedule: jobSchedule, slots: slots(jobSchedule, after: base)))
            } catch {
                FileHandle.standardError.write(Data("renkeictl: \(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.usage.rawValue) }
        if json {
            print(try JSONOutput.encode(reports.map(\.json)))
        } else {
            print(reports.map(\.text).joined(separator: "\n\n"))
        }
    }

    /// The next `iterations` slots that run (skipped ones are listed but do not count).
    private func slots(_ schedule: JobSchedule, after base: Int64) -> [Slot] {
        var slots: [Slot] = []
        var cursor = base
        var running = 0
        while running < iterations, slots.count < iterations * 20, let slot = schedule.nextSlot(after: cursor) {
            slots.append(slot)
            if slot.runAt != nil { running += 1 }
            cursor = slot.logicalTime
        }
        return slots
    }
}

/// One expression's answer, in text or JSON.
struct ExpressionReport {
    let expression: String
    let schedule: JobSchedule
    let slots: [Slot]

    struct JSON: Encodable {
        struct SlotJSON: Encodable {
            let logical_time: String
            let run_at: String?
            let closed_day: Bool
        }
        let expression: String
        let normalized: String
        let timezone: String
        let next: [String]
        let slots: [SlotJSON]?
    }

    var json: JSON {
        let fractional = schedule.schedule.hasFractionalSeconds
        let showSlots = !schedule.closedDays.isEmpty
        return JSON(
            expression: expression,
            normalized: schedule.schedule.normalizedForm,
            timezone: schedule.effectiveZone.identifier,
            next: slots.compactMap(\.runAt).map { Self.utc($0, fractional: fractional) },
            slots: showSlots ? slots.map { slot in
                .init(logical_time: Self.utc(slot.logicalTime, fractional: fractional), run_at: slot.runAt.map { Self.utc($0, fractional: fractional) },
                      closed_day: slot.disposition != .open)
            } : nil
        )
    }

    var text: String {
        var lines: [String] = []
        let normalized = schedule.schedule.normalizedForm
        if normalized != expression { lines.append("  Original form: \(expression)") }
        lines.append("Normalized form: \(normalized)")
        let zone = schedule.effectiveZone
        if slots.isEmpty { lines.append("    Next elapse: never") }
        var iteration = 0
        for slot in slots {
            let label = iteration == 0 && slot.runAt != nil ? "    Next elapse" : "       Iter. #\(iteration + 1)"
            switch slot.disposition {
            case .open:
                lines.append("\(label): \(Self.local(slot.runAt!, zone))")
            case .moved:
                lines.append("\(label): \(Self.local(slot.runAt!, zone))  (moved from \(Self.local(slot.logicalTime, zone)), a closed day)")
            case .skippedClosedDay:
                lines.append("        skipped: \(Self.local(slot.logicalTime, zone))  (a closed day)")
                continue
            }
            if iteration == 0 && zone.identifier != "UTC" {
                lines.append("       (in UTC): \(Self.local(slot.runAt!, .utc))")
            }
            iteration += 1
        }
        return lines.joined(separator: "\n")
    }

    /// `2026-01-26T17:00:00Z`, with microseconds only when the expression has fractions.
    static func utc(_ microseconds: Int64, fractional: Bool) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let stamp = LogicalTime.iso8601(seconds, in: .utc, utcAsZ: true)
        guard fractional else { return stamp }
        let fraction = String(microseconds - seconds * 1_000_000)
        return String(stamp.dropLast()) + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }

    /// `Fri 2026-11-27 06:30:00 +09:00 (Asia/Tokyo)`.
    static func local(_ microseconds: Int64, _ zone: ZoneRules) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let iso = LogicalTime.iso8601(seconds, in: zone)
        let weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][Int(((seconds + zone.offset(at: seconds)) / 86_400 + 4) % 7 + 7) % 7]
        let date = iso.prefix(10), time = iso.dropFirst(11).prefix(8), offset = iso.suffix(6)
        return zone.identifier == "UTC" ? "\(weekday) \(date) \(time) UTC" : "\(weekday) \(date) \(time) \(offset) (\(zone.identifier))"
    }
}
