import ArgumentParser
import Foundation
import GRDB
import RenkeiControl

/// Rerun round trip: `renkeictl rerun RUN` until it exits, which it does once renkeid has
/// committed the new run's row; and the same request sent straight to the socket.
struct RerunRoundTrip: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rerun", abstract: "Rerun a failing job's run TIMES times; time each request.")

    @Option var socket: String
    @Option var database: String
    @Option(help: "renkeictl.") var renkeictl: String
    @Option(name: .customLong("run"), help: "A failed run of a job that always fails.") var firstRun: Int64
    @Option var times = 20

    func run() throws {
        let store = try openStoreToRead(database)
        let client = ControlClient(socketPath: socket)
        var command: [Double] = []
        var direct: [Double] = []
        var failed = firstRun
        for index in 0..<(2 * times) {
            let started = Clock.monotonicSeconds()
            let newRun: Int64
            if index % 2 == 0 {
                let (status, text) = try Spawn.output(of: [renkeictl, "rerun", String(failed), "--socket", socket])
                command.append(Clock.monotonicSeconds() - started)
                guard status == 0, let id = text.firstMatch(of: /queued as run (\d+)/).flatMap({ Int64($0.1) }) else {
                    throw Spawn.Failure(description: "renkeictl rerun \(failed) exited \(status): \(text)")
                }
                newRun = id
            } else {
                let response = try client.send(ControlRequest(operation: .rerun, run: failed))
                direct.append(Clock.monotonicSeconds() - started)
                guard response.exitStatus == 0, let id = response.runs?.first?.id else { throw Spawn.Failure(description: "rerun \(failed): \(response.message)") }
                newRun = id
            }
            // The row must be there when the answer is; then wait for the run to fail again.
            guard try store.read({ try Bool.fetchOne($0, sql: "SELECT 1 FROM run WHERE id = ?", arguments: [newRun]) }) == true else {
                throw Spawn.Failure(description: "run \(newRun) was announced but has no row")
            }
            while try store.read({ try String.fetchOne($0, sql: "SELECT state FROM run WHERE id = ?", arguments: [newRun]) }) != "failed" {
                usleep(5_000)
            }
            failed = newRun
        }
        command.sort()
        direct.sort()
        printFigures(["renkeictl_p50_ms": percentile(command, 50) * 1000, "renkeictl_max_ms": command.last! * 1000,
                      "socket_p50_ms": percentile(direct, 50) * 1000, "socket_max_ms": direct.last! * 1000])
    }
}
