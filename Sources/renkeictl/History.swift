import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import RenkeiStore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List runs, newest first. Reads the store directly; works with the daemon stopped.",
        discussion: """
            Example:
              renkeictl history juki-to-fukushi --since 2026-11-01
              renkeictl history --json | jq '.[] | select(.state == "failed")'
              renkeictl history --store "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    @OptionGroup var location: LocationOptions

    @Option(name: .long, help: ArgumentHelp("A PostgreSQL store: read the runs from the database (default: $RENKEI_STORE when it names PostgreSQL).", valueName: "URL"))
    var store: String?

    @Argument(help: "Only this job's runs.")
    var job: String?

    @Option(help: ArgumentHelp("Only runs queued at or after T (2026-11-26, 2026-11-26 06:30 or ISO 8601).", valueName: "T"))
    var since: String?

    @Option(help: "At most this many runs.")
    var limit: Int = 50

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let runs: [RunRecord]
        if let address = try PostgresStoreChoice.address(store: store, command: "history") {
            let sinceDate = try sinceDate()
            do {
                runs = try await PostgresSession.with(address, applicationName: "renkeictl history") { session in
                    try await PostgresRunReading.history(session, job: job, since: sinceDate, limit: limit)
                }
            } catch let problem as PostgresProblem {
                throw PostgresStoreChoice.failure(problem, command: "history", address: address)
            }
        } else {
            let store = try openForReading(location.locations)
            runs = try store.history(job: job, since: try sinceDate(), limit: limit)
        }
        try show(runs)
    }

    /// `--since` as an instant on this machine's clock; nil without it.
    func sinceDate() throws -> Date? {
        guard let since else { return nil }
        do {
            let time = try LogicalTime.parse(since, zoneIdentifier: MachineTimeZone.identifier)
            return Date(timeIntervalSince1970: TimeInterval(time.epochSeconds))
        } catch { throw Failure(.usage, "--since: \(error)") }
    }

    /// The same table or JSON whichever store the runs came from.
    func show(_ runs: [RunRecord]) throws {
        if json {
            print(try JSONOutput.encode(runs.map(RunJSON.init)))
            return
        }
        if runs.isEmpty {
            print(job.map { "no runs of \($0) recorded" + (since.map { " since \($0)" } ?? "") } ?? "no runs recorded")
            return
        }
        var rows = [["RUN", "JOB", "LOGICAL TIME", "TRIGGER", "TRY", "STATE", "STARTED", "TOOK", "CHAIN", "ERROR"]]
        for run in runs {
            var chain: [String] = []
            if let of = run.rerunOf { chain.append("rerun of \(of)") }
            if let of = run.retryOf { chain.append("retry of \(of)") }
            if let by = run.resolvedBy { chain.append("resolved by \(by)") }
            rows.append([
                String(run.id!), run.job, run.logical.iso8601, run.trigger.rawValue, String(run.attempt),
                RunSummary.stateWord(run.state), RunSummary.localTime(run.startedAt), RunSummary.duration(run) ?? "-",
                chain.isEmpty ? "-" : chain.joined(separator: ", "), run.errorMessage.map { String($0.prefix(60)) } ?? "",
            ])
        }
        print(Table.render(rows))
    }
}

/// Opens the store at `locations.state` to read, turning a missing store (5) or one this user may
/// not read (4) into an operator's message; what a partial view may lack goes to stderr.
func openForReading(_ locations: Locations) throws -> RunStore {
    let store: RunStore
    do {
        store = try StateDirectory(locations.state).openStoreForReading()
    } catch let error as RunStore.OpenError {
        if case .permissionDenied = error { throw Failure(.permissionDenied, "\(error)") }
        throw Failure(.noSuchJobOrRun, "\(error)")
    }
    if let note = store.readingNote { FileHandle.standardError.write(Data("renkeictl: note: \(SafeText.visible(note))\n".utf8)) }
    return store
}

/// Left-aligned columns two spaces apart; the last column is not padded. Cells are shown with
/// their control characters visible (`SafeText`), so a reason cannot move the cursor.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        let rows = rows.map { $0.map(SafeText.visible) }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == columns - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
