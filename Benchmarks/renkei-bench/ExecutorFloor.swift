import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiExecutor

/// The step executor alone (swift-subprocess, own session, output tails), without the store,
/// the scheduler or the journal: where a run's time goes between the floor and Renkei.
struct ExecutorFloor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "executor", abstract: "Run a program COUNT times through StepExecutor, CONCURRENCY at once.")

    @Option var count = 5000
    @Option var concurrency = 8
    @Option var program = "/bin/true"

    func run() async throws {
        let started = Clock.monotonicSeconds()
        let invocation = StepInvocation(arguments: [program], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/tmp",
                                        programDirectory: "/tmp", timeout: nil, killGrace: JobDuration(seconds: 5))
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var failed = 0
                    for _ in stride(from: worker, to: count, by: concurrency) {
                        if await StepExecutor.run(invocation).termination != .exited(0) { failed += 1 }
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        let seconds = Clock.monotonicSeconds() - started
        guard failures == 0 else { throw Spawn.Failure(description: "\(failures) of \(count) runs of \(program) failed") }
        printFigures(["seconds": seconds, "runs_per_second": Double(count) / seconds])
    }
}
