import ArgumentParser
import Foundation

/// The machine's limit for dispatch: `posix_spawn` + `waitpid` of one program in a tight loop on
/// `concurrency` threads, nothing recorded.
struct Floor: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Spawn and reap a program COUNT times, CONCURRENCY at once.")

    @Option var count = 5000
    @Option var concurrency = 8
    @Option var program = "/bin/true"

    func run() throws {
        let started = Clock.monotonicSeconds()
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: concurrency) { worker in
            let share = count / concurrency + (worker < count % concurrency ? 1 : 0)
            for _ in 0..<share {
                guard let pid = try? Spawn.start([program]), Spawn.wait(pid) == 0 else {
                    failures.add()
                    continue
                }
            }
        }
        let seconds = Clock.monotonicSeconds() - started
        guard failures.value == 0 else { throw Spawn.Failure(description: "\(failures.value) of \(count) spawns of \(program) failed") }
        printFigures(["seconds": seconds, "runs_per_second": Double(count) / seconds])
    }
}
