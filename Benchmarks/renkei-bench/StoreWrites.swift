import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiStore

/// The store alone: a run's writes, one after another (one writer, no contention), timed by kind.
/// Where the per-run cost of recording goes.
struct StoreWrites: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "Record COUNT one-step runs straight into a store; time each kind of write.")

    @Option(help: "A new or existing renkei.db.") var database: String
    @Option var count = 1000

    func run() async throws {
        let store = try RunStore.openForWriting(at: database)
        let job = try JobFileParser.parse(file: "bench.yaml", name: "bench", bytes: Array("steps:\n  - name: a\n    run: [\"/bin/true\"]\n".utf8)).get()
        let owner = ProcessIdentity.current
        let entry = AuditEntry(uid: 0, user: "root", pid: Int64(getpid()), request: #"{"operation":"run"}"#, reason: nil, result: "accepted")
        var totals: [String: Double] = [:]
        func timed<T>(_ kind: String, _ work: () async throws -> T) async rethrows -> T {
            let started = Clock.monotonicSeconds()
            defer { totals[kind, default: 0] += Clock.monotonicSeconds() - started }
            return try await work()
        }
        for index in 0..<count {
            let logical = LogicalTime(epochSeconds: 1_800_000_000 + Int64(index), zoneIdentifier: "UTC")
            // As renkeid records an operator's run: queued together with its audit entry.
            let run = try await timed("enqueue_with_audit") {
                try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual), owner: owner, at: Date(), audit: entry)
            }
            let id = run.id!
            _ = try await timed("start") { try await store.start(runID: id, environment: ["PATH": "/bin"], workDirectory: "/tmp", at: Date()) }
            try await timed("step_started") { try await store.stepStarted(runID: id, position: 0, command: ["/bin/true"], at: Date()) }
            await timed("step_spawned") { store.stepSpawned(runID: id, position: 0, pid: getpid()) }
            try await timed("step_finished") { try await store.stepFinished(runID: id, position: 0, end: StepEnd(termination: .exited(0), finishedAt: Date(), stdoutTail: OutputTail(), stderrTail: OutputTail())) }
            _ = try await timed("finish") { try await store.finish(runID: id, outcome: RunOutcome(state: .succeeded), at: Date()) }
        }
        var figures = totals.mapValues { $0 / Double(count) * 1000 }
        figures["run_total"] = totals.values.reduce(0, +) / Double(count) * 1000
        printFigures(Dictionary(uniqueKeysWithValues: figures.map { ("\($0.key)_ms", $0.value) }))
    }
}
