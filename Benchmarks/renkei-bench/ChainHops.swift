import ArgumentParser
import Foundation
import GRDB
import RenkeiCore

/// Chain hops, read after the chain ran: jobs PREFIX0 … PREFIXn-1, each `after:` the one before,
/// the first started by hand. A hop is one run's end to the next job's run start. Waits until the
/// last job's run has ended (at most TIMEOUT seconds), then checks that every job ran exactly once,
/// succeeded, with trigger `after` (the first: `manual`); what is wrong is printed on standard
/// error and counted in `jobs_not_run_once`, `runs_not_succeeded`, `runs_with_other_trigger`.
///
/// The hops are the store's: a run's `finished_at` (stamped as its end is written) to the next
/// run's `started_at` (stamped once its work directory is ready), in whole milliseconds — coarse
/// for hops of a few milliseconds (each reads within 1 ms, either way), but the whole hop. When a
/// journal is given, the same hops between the run-succeeded and run-started events are printed
/// too (`journal_hop_*`): journald stamps them in microseconds, but they bracket less of the hop
/// (run-succeeded is sent after the end is committed, run-started once the next run's row is
/// queued, before its work directory), so they are shown beside, not as the figure.
struct ChainHops: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chain-figures", abstract: "Hop figures of a chain of JOBS jobs, from the journal or the store.")

    @Option(help: "The store renkeid writes (renkei.db).") var database: String
    @Option(help: "The chain's jobs are PREFIX0 … PREFIXn-1, in chain order.") var prefix = "chain"
    @Option var jobs: Int
    @Option(help: "A journal directory with renkeid's events (journalctl --directory).") var journal: String?
    @Option(help: "Seconds to wait for the chain to end.") var timeout: Double = 120

    func run() throws {
        let names = (0..<jobs).map { "\(prefix)\($0)" }
        let store = try openStoreToRead(database)
        let started = Clock.monotonicSeconds()
        let last = "SELECT count(*) FROM run WHERE job = ? AND finished_at IS NOT NULL"
        while try store.read({ try Int.fetchOne($0, sql: last, arguments: [names.last!]) ?? 0 }) == 0 {
            guard Clock.monotonicSeconds() - started < timeout else { break }
            usleep(20_000)
        }

        // Every job's runs: how many, their states and triggers, and (for the one run) its times.
        struct Runs { var count = 0; var states: Set<String> = []; var triggers: Set<String> = []; var started = 0.0; var finished = 0.0 }
        var runs: [String: Runs] = [:]
        try store.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT job, state, trigger, round((julianday(started_at) - 2440587.5) * 86400000), round((julianday(finished_at) - 2440587.5) * 86400000)
                FROM run WHERE job GLOB ? ORDER BY id
                """, arguments: ["\(prefix)[0-9]*"])
            while let row = try rows.next() {
                let job: String = row[0]
                runs[job, default: Runs()].count += 1
                runs[job]!.states.insert(row[1])
                runs[job]!.triggers.insert(row[2])
                runs[job]!.started = (row[3] as Double?) ?? .nan
                runs[job]!.finished = (row[4] as Double?) ?? .nan
            }
        }
        var notOnce: [String] = [], notSucceeded: [String] = [], otherTrigger: [String] = []
        for (index, name) in names.enumerated() {
            let job = runs[name] ?? Runs()
            if job.count != 1 { notOnce.append("\(name) ran \(job.count) times") }
            if job.states != ["succeeded"] { notSucceeded.append("\(name): \(job.states.sorted().joined(separator: ", "))") }
            let expected = index == 0 ? "manual" : "after"
            if !job.triggers.isEmpty && job.triggers != [expected] { otherTrigger.append("\(name): \(job.triggers.sorted().joined(separator: ", ")), not \(expected)") }
        }
        for (what, list) in [("did not run exactly once", notOnce), ("did not succeed", notSucceeded), ("had another trigger", otherTrigger)] where !list.isEmpty {
            FileHandle.standardError.write(Data("renkei-bench chain-figures: \(list.count) of \(jobs) jobs \(what): \(list.prefix(10).joined(separator: "; "))\n".utf8))
        }

        var figures: [String: Double] = ["jobs_not_run_once": Double(notOnce.count), "runs_not_succeeded": Double(notSucceeded.count),
                                         "runs_with_other_trigger": Double(otherTrigger.count)]
        // Milliseconds, as the store has them.
        let storeTimes = names.map { (runs[$0]?.started ?? .nan, runs[$0]?.finished ?? .nan) }
        let hops = Self.hops(storeTimes)
        figures["hop_p50_ms"] = hops.map { percentile($0, 50) } ?? -1
        figures["hop_p99_ms"] = hops.map { percentile($0, 99) } ?? -1
        figures["hop_max_ms"] = hops?.last ?? -1
        figures["chain_seconds"] = hops == nil ? -1 : (storeTimes.last!.1 - storeTimes.first!.0) / 1000
        if let journal, let times = try journalTimes(journal, names), let hops = Self.hops(times) {
            figures["journal_hop_p50_ms"] = percentile(hops, 50)
            figures["journal_hop_p99_ms"] = percentile(hops, 99)
            figures["journal_hop_max_ms"] = hops.last!
        }
        printFigures(figures)
    }

    /// Sorted hop times (the next start minus this end), or nil when any time is missing.
    static func hops(_ times: [(start: Double, end: Double)]) -> [Double]? {
        guard times.count > 1, times.allSatisfy({ !$0.start.isNaN && !$0.end.isNaN }) else { return nil }
        return zip(times, times.dropFirst()).map { $1.start - $0.end }.sorted()
    }

    /// Each job's run-started and run-succeeded instants in the journal, in milliseconds with
    /// microseconds; nil unless every job has exactly one of each (journald may take a moment to
    /// write the last ones: tried for a few seconds).
    func journalTimes(_ directory: String, _ names: [String]) throws -> [(start: Double, end: Double)]? {
        let startedID = EventKind.runStarted.messageID, succeededID = EventKind.runSucceeded.messageID
        let wanted = Set(names)
        for attempt in 0..<25 {
            if attempt > 0 { usleep(200_000) }
            let (status, text) = try Spawn.output(of: ["/usr/bin/journalctl", "--directory=\(directory)", "-o", "json", "--all", "--no-pager",
                                                       "--output-fields=RENKEI_JOB,MESSAGE_ID", "MESSAGE_ID=\(startedID)", "MESSAGE_ID=\(succeededID)"])
            guard status == 0 else { continue }
            var starts: [String: [Double]] = [:], ends: [String: [Double]] = [:]
            for line in text.split(separator: "\n") {
                guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let job = entry["RENKEI_JOB"] as? String, wanted.contains(job),
                      let stamp = (entry["__REALTIME_TIMESTAMP"] as? String).flatMap(Double.init) else { continue }
                switch entry["MESSAGE_ID"] as? String {
                case startedID: starts[job, default: []].append(stamp / 1000)
                case succeededID: ends[job, default: []].append(stamp / 1000)
                default: break
                }
            }
            if names.allSatisfy({ starts[$0]?.count == 1 && ends[$0]?.count == 1 }) {
                return names.map { (starts[$0]![0], ends[$0]![0]) }
            }
        }
        FileHandle.standardError.write(Data("renkei-bench chain-figures: the journal in \(directory) lacks some of the chain's run events\n".utf8))
        return nil
    }
}
