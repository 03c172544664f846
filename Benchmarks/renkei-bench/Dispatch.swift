import ArgumentParser
import Foundation
import GRDB
import RenkeiControl

/// Dispatch throughput: COUNT one-step runs asked for at once through the control socket, timed
/// from the first request to the last run's end committed in the store.
struct Dispatch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Queue COUNT runs through the control socket; time until all are recorded ended.")

    @Option var socket: String
    @Option(help: "The store renkeid writes (renkei.db).") var database: String
    @Option var count = 5000
    @Option(help: "Jobs job0 … jobN-1 take the runs in turn.") var jobs = 1000
    @Option(help: "Connections asking at once.") var clients = 16

    func run() throws {
        let store = try openStoreToRead(database)
        let before = try store.read { try Int64.fetchOne($0, sql: "SELECT coalesce(max(id), 0) FROM run") ?? 0 }
        let client = ControlClient(socketPath: socket)
        let refusals = Counter()
        let started = Date().timeIntervalSince1970
        DispatchQueue.concurrentPerform(iterations: clients) { worker in
            for index in stride(from: worker, to: count, by: clients) {
                let response = try? client.send(ControlRequest(operation: .run, job: "job\(index % jobs)"))
                if response?.exitStatus != 0 { refusals.add() }
            }
        }
        let queued = Date().timeIntervalSince1970 - started
        guard refusals.value == 0 else { throw Spawn.Failure(description: "\(refusals.value) of \(count) run requests were refused") }

        // Done when every run asked for has ended; the figures come from the rows themselves.
        let sql = "SELECT count(*) FROM run WHERE id > ? AND trigger = 'manual' AND finished_at IS NOT NULL"
        while try store.read({ try Int.fetchOne($0, sql: sql, arguments: [before]) ?? 0 }) < count {
            usleep(20_000)
        }
        let (succeeded, steps, lastEnd) = try store.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM run WHERE id > ? AND trigger = 'manual' AND state = 'succeeded'", arguments: [before]) ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM step WHERE run_id > ? AND state = 'succeeded'", arguments: [before]) ?? 0,
             try Double.fetchOne(db, sql: "SELECT (julianday(max(finished_at)) - 2440587.5) * 86400 FROM run WHERE id > ?", arguments: [before]) ?? 0)
        }
        guard succeeded == count, steps == count else {
            throw Spawn.Failure(description: "of \(count) runs \(succeeded) succeeded with \(steps) step rows; see renkeictl history")
        }
        let seconds = lastEnd - started
        printFigures(["seconds": seconds, "runs_per_second": Double(count) / seconds, "queueing_seconds": queued])
    }
}
