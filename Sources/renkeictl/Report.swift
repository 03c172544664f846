import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import RenkeiSystemd
import Logging

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The failure report: were there failures, were they all handled, what is still open.",
        discussion: """
            Reads the store directly (no daemon needed). Failures are counted per job and logical \
            time: a link retried three times is one failure. Times are in the machine's zone. \
            When receive:/deliver: steps handled files, it ends with the link reconciliation \
            (連携結果照合表): what was received against what was delivered, per job and data date.

            With a PostgreSQL store (--store or RENKEI_STORE), the report is read from that \
            database, the history of every node, in one snapshot; it reads the same as on SQLite.

            A failed upstream and the runs of its downstream jobs (after:) that failed with class \
            upstream for the same date are one incident: listed under it ("because of it") and \
            counted once in "incidents". The chains are read from the job files (--jobs).

            Examples:
              renkeictl report                                   # the last 7 days, in the terminal
              renkeictl report --since 2026-11-01 --until 2026-12-01 --format html --lang ja -o 2026-11.html
              renkeictl report --format csv --lang ja -o failures.csv   # opens in Excel
              renkeictl report --store "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv, html }
    enum Language: String, ExpressibleByArgument, CaseIterable { case en, ja }

    @OptionGroup var location: LocationOptions

    @Option(name: .long, help: ArgumentHelp("A PostgreSQL store: read the report from the database (default: $RENKEI_STORE when it names PostgreSQL; sqlite: or none reads --state).", valueName: "URL"))
    var store: String?

    @Option(help: ArgumentHelp("From T (logical time; default: 7 days ago).", valueName: "T"))
    var since: String?

    @Option(help: ArgumentHelp("Until T, not included (default: now).", valueName: "T"))
    var until: String?

    @Option(name: .customLong("job"), help: ArgumentHelp("Only this job; repeatable.", valueName: "JOB"))
    var jobs: [String] = []

    @Option(help: "text, json, csv or html.")
    var format: Format = .text

    @Option(help: ArgumentHelp("en or ja (default: ja when LANG starts with ja).", valueName: "LANG"))
    var lang: Language?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    @Flag(help: "The period is yesterday (00:00 to 00:00 in the machine's zone).")
    var yesterday = false

    @Option(help: ArgumentHelp("Write report-DATE.html and report-DATE.json into DIR (renkei-report.service).", valueName: "DIR"))
    var outputDir: String?

    @Flag(help: "Log a journal event with the totals as fields (RENKEI_REPORT_*).")
    var journalSummary = false

    func validate() throws {
        if yesterday && (since != nil || until != nil) { throw ValidationError("--yesterday replaces --since and --until") }
        if outputDir != nil && output != nil { throw ValidationError("-o and --output-dir do not go together") }
    }

    func run() async throws {
        let zone = MachineTimeZone.identifier
        let now = Int64(Date().timeIntervalSince1970)
        func parse(_ text: String?, _ option: String, default value: Int64) throws -> Int64 {
            guard let text else { return value }
            do { return try LogicalTime.parse(text, zoneIdentifier: zone).epochSeconds } catch { throw Failure(.usage, "\(option): \(error)") }
        }
        var untilTime = try parse(until, "--until", default: now + 1)
        var sinceTime = try parse(since, "--since", default: untilTime - 7 * 86_400)
        if yesterday {
            let today = LogicalTime(epochSeconds: now, zoneIdentifier: zone).date
            untilTime = try parse(today, "--yesterday", default: now)
            sinceTime = try parse(LogicalTime(epochSeconds: untilTime - 43_200, zoneIdentifier: zone).date, "--yesterday", default: now)
        }
        guard sinceTime < untilTime else { throw Failure(.usage, "--since must be before --until") }
        let postgres = try PostgresStoreChoice.address(store: store, command: "report")
        let input: ReportInput
        if let postgres {
            let dependencies = chains()
            do {
                input = try await PostgresSession.with(postgres, applicationName: "renkeictl report") { session in
                    try await PostgresReportReading.snapshot(session) { reading in
                        try await ReportQuery.input(store: reading, since: sinceTime, until: untilTime, jobs: jobs, zone: zone, now: now,
                                                    dependencies: dependencies)
                    }
                }
            } catch let problem as PostgresProblem {
                throw PostgresStoreChoice.failure(problem, command: "report", address: postgres)
            }
        } else {
            let store = try openForReading(location.locations)
            input = try await ReportQuery.input(store: store, since: sinceTime, until: untilTime, jobs: jobs, zone: zone, now: now,
                                                dependencies: chains())
        }
        let report = FailureReport.make(input)
        let language = lang ?? ((ProcessInfo.processInfo.environment["LANG"] ?? "").hasPrefix("ja") ? .ja : .en)
        let labels = ReportLabels(japanese: language == .ja)
        if journalSummary { logSummary(report, store: postgres) }
        if let outputDir {
            let day = LogicalTime(epochSeconds: sinceTime, zoneIdentifier: zone).date
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
            for (name, data) in [("report-\(day).html", Data(ReportHTML.render(report, labels).utf8)), ("report-\(day).json", Data(try ReportFormats.json(report).utf8))] {
                guard FileManager.default.createFile(atPath: outputDir + "/" + name, contents: data) else { throw Failure(.usage, "cannot write \(outputDir)/\(name)") }
            }
            print("report for \(day) written to \(outputDir)/report-\(day).html and .json")
            return
        }
        let data: Data
        switch format {
        case .json: data = Data(try ReportFormats.json(report).utf8)
        case .csv: data = ReportFormats.csv(report, labels)
        case .html: data = Data(ReportHTML.render(report, labels).utf8)
        case .text:
            let colour = output == nil && isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
                && ProcessInfo.processInfo.environment["TERM"] != "dumb"
            data = Data(ReportFormats.text(report, labels, colour: colour).utf8)
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: data) else {
                throw Failure(.usage, "cannot write \(output)")
            }
            FileHandle.standardError.write(Data("report written to \(output)\n".utf8))
        } else {
            FileHandle.standardOutput.write(data)
        }
    }

    /// The chains of the job files (`after:`), so a failed upstream and the failures it caused
    /// downstream read as one incident. Without readable job files every failure is its own.
    func chains() -> Dependencies {
        let directory = location.locations.jobs
        let catalog = JobLoader.load(directory: directory)
        if catalog.jobs.isEmpty && !catalog.problems.isEmpty {
            FileHandle.standardError.write(Data("renkeictl: note: no job files read from \(directory): failures are not grouped by chain (give --jobs)\n".utf8))
        }
        return Dependencies(catalog.jobs.map(\.job))
    }

    /// One journal event with the totals as fields, for monitoring (Zabbix, JP1) to pick up.
    /// `store`: the PostgreSQL store it was read from (nil: the state directory's SQLite store).
    func logSummary(_ report: FailureReport, store: PostgresAddress?) {
        guard Journal.isAvailable else { return }
        LoggingSystem.bootstrap { _ in JournalLogHandler(identifier: "renkeictl") }
        let c = report.totals.counts
        var fields = [
            "RENKEI_REPORT_SINCE": report.since, "RENKEI_REPORT_UNTIL": report.until, "RENKEI_REPORT_RUNS": "\(c.runs)",
            "RENKEI_REPORT_FAILED": "\(c.failed)", "RENKEI_REPORT_INCIDENTS": "\(report.totals.incidents)", "RENKEI_REPORT_UNRESOLVED": "\(c.unresolved)", "RENKEI_REPORT_MISSED": "\(c.missed)",
            "RENKEI_REPORT_DEADLINE_BREACHES": "\(c.deadlineBreaches)",
        ]
        // The head the report saw: one more copy of it in the journal for audit --verify.
        if let head = report.auditHead {
            fields[EventField.auditSeq] = String(head.seq)
            fields[EventField.auditHash] = head.hash
            fields[EventField.auditStore] = store?.description ?? StateDirectory(location.locations.state).database
        }
        Logger(label: "renkeictl").event(.reportWritten, c.unresolved > 0 ? .warning : .notice,
                                         "failure report \(report.since.prefix(10)): \(c.runs) runs, \(c.failed) failures, \(c.unresolved) unresolved, \(c.missed) missed", fields)
    }
}
