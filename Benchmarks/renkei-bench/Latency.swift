import ArgumentParser
import Foundation

/// The floor of schedule latency: sleep to each whole second, then `posix_spawn` the stamp child,
/// as a scheduler with nothing else to do would.
struct LatencyFloor: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency-floor", abstract: "At SLOTS whole seconds from START, spawn the stamp child.")

    @Option(help: "The first slot, in epoch seconds.") var start: Int
    @Option var slots = 30
    @Option(help: "renkei-bench-stamp.") var stamp: String
    @Option(help: "Where the stamps go.") var output: String

    func run() throws {
        for slot in start..<(start + slots) {
            var instant = timespec(tv_sec: slot, tv_nsec: 0)
            while clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &instant, nil) == EINTR {}
            Spawn.wait(try Spawn.start([stamp, String(slot), output]))
        }
    }
}

/// p50/p99/max of "SLOT EXEC_NS" lines written by the stamp child.
struct LatencyFigures: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency-figures", abstract: "Percentiles of slot-to-exec latency from a stamps file.")

    @Argument var stamps: String

    func run() throws {
        let text = try String(contentsOfFile: stamps, encoding: .utf8)
        let milliseconds = text.split(separator: "\n").compactMap { line -> Double? in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let slot = Int64(fields[0]), let exec = Int64(fields[1]) else { return nil }
            return Double(exec - slot * 1_000_000_000) / 1e6
        }.sorted()
        guard !milliseconds.isEmpty else { throw Spawn.Failure(description: "no stamps in \(stamps)") }
        printFigures(["samples": Double(milliseconds.count), "p50_ms": percentile(milliseconds, 50),
                      "p99_ms": percentile(milliseconds, 99), "max_ms": milliseconds.last!])
    }
}
