import ArgumentParser
import Foundation
import GRDB

/// Scheduled load, read from the store renkeid wrote: jobs PREFIX0 … PREFIXn-1, each due every
/// second, over a window of SECONDS slots from FROM. Completed runs are counted by when they
/// finished (in the window); skipped and missed slots, and the one-row-per-slot check, by the
/// slot's time. Waits first until every slot of the window has its row and no run of the window
/// is still queued or running, at most SETTLE seconds: a slot without a row after that is a
/// defect, printed on standard error, and counted in `slots_without_row`.
struct ScheduledLoadFigures: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load-figures",
                                                    abstract: "Runs completed, slots skipped and missed, and slots without a row, over a window of a scheduled load.")

    @Option(help: "The store renkeid writes (renkei.db).") var database: String
    @Option(help: "How many jobs: PREFIX0 … PREFIX(N-1).") var jobs: Int
    @Option var prefix = "load"
    @Option(help: "The window's first slot, in epoch seconds.") var from: Int64
    @Option(help: "The window's length in seconds (slots per job).") var seconds: Int64
    @Option(help: "Seconds to wait for the window's rows to be complete.") var settle: Double = 120

    func run() throws {
        let store = try openStoreToRead(database)
        let until = from + seconds
        let expected = jobs * Int(seconds)
        let window: StatementArguments = [from, until]

        // Slots of the window with a row; done when all have one and no run of them is still on its way.
        let started = Clock.monotonicSeconds()
        while true {
            let row = try store.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT count(DISTINCT job || ' ' || logical_time), coalesce(sum(state IN ('queued', 'running')), 0) FROM run
                    WHERE logical_time >= ? AND logical_time < ? AND trigger IN ('schedule', 'catch-up')
                    """, arguments: window)!
            }
            let (covered, unfinished): (Int, Int) = (row[0], row[1])
            if (covered >= expected && unfinished == 0) || Clock.monotonicSeconds() - started > settle { break }
            usleep(500_000)
        }
        let settled = Clock.monotonicSeconds() - started

        let figures = try store.read { db -> [String: Double] in
            func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Double {
                Double(try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0)
            }
            let epoch = { (column: String) in "(julianday(\(column)) - 2440587.5) * 86400" }
            let completed = try count("SELECT count(*) FROM run WHERE trigger = 'schedule' AND state = 'succeeded' AND \(epoch("finished_at")) >= ? AND \(epoch("finished_at")) < ?",
                                      window)
            let inWindow = "logical_time >= ? AND logical_time < ? AND trigger IN ('schedule', 'catch-up')"
            let skipped = try count("SELECT count(*) FROM run WHERE \(inWindow) AND state = 'skipped'", window)
            let missed = try count("SELECT count(*) FROM run WHERE \(inWindow) AND state = 'missed'", window)
            let catchUp = try count("SELECT count(*) FROM run WHERE \(inWindow) AND trigger = 'catch-up'", window)
            let other = try count("SELECT count(*) FROM run WHERE \(inWindow) AND state NOT IN ('succeeded', 'skipped', 'missed')", window)
            // A run recorded succeeded must have its one step recorded succeeded too.
            let withoutStep = try count("""
                SELECT count(*) FROM run WHERE \(inWindow) AND state = 'succeeded'
                AND NOT EXISTS (SELECT 1 FROM step WHERE step.run_id = run.id AND step.state = 'succeeded')
                """, window)

            // One row per slot: which slots have none, which have several.
            var rowsPerSlot: [String: [Int64: Int]] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT job, logical_time FROM run WHERE \(inWindow)", arguments: window)
            while let row = try rows.next() {
                rowsPerSlot[row[0], default: [:]][row[1], default: 0] += 1
            }
            var withoutRow: [String] = []
            var several = 0
            for index in 0..<jobs {
                let job = "\(prefix)\(index)"
                for slot in from..<until {
                    switch rowsPerSlot[job]?[slot] ?? 0 {
                    case 0: withoutRow.append("\(job) at \(Date(timeIntervalSince1970: TimeInterval(slot)))")
                    case 1: break
                    default: several += 1
                    }
                }
            }
            if !withoutRow.isEmpty {
                FileHandle.standardError.write(Data("renkei-bench load-figures: \(withoutRow.count) of \(expected) slots have no row \(Int(settled)) s after the window; the first: \(withoutRow.prefix(10).joined(separator: ", "))\n".utf8))
            }

            // How late the runs of the window's slots started (slot instant → run row started).
            let lags = try Double.fetchAll(db, sql: "SELECT \(epoch("started_at")) - logical_time FROM run WHERE \(inWindow) AND state = 'succeeded' ORDER BY 1",
                                           arguments: window).map { $0 * 1000 }
            let duration = Double(seconds)
            return ["runs_per_second": completed / duration, "skipped_per_second": skipped / duration, "missed_per_second": missed / duration,
                    "catch_up_runs": catchUp, "other_rows": other, "runs_without_step": withoutStep,
                    "slots": Double(expected), "slots_without_row": Double(withoutRow.count), "slots_with_several_rows": Double(several),
                    "start_lag_p50_ms": lags.isEmpty ? -1 : percentile(lags, 50), "start_lag_p99_ms": lags.isEmpty ? -1 : percentile(lags, 99),
                    "settle_seconds": settled]
        }
        printFigures(figures)
    }
}
