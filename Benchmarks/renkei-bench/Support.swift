import Foundation
import GRDB

// What the measuring subcommands share: child processes, clocks, figures, the store.

/// Child processes for the benchmarks, with `posix_spawn` as the floor itself uses.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `arguments` (an absolute program path first) with `environment` (nil: this
    /// process's), its output appended to `output` (nil: inherited).
    static func start(_ arguments: [String], environment: [String: String]? = nil, output: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pairs = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { pairs.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, nil, argv, pairs)
        guard status == 0 else { throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
        return pid
    }

    /// Waits for `pid`; its exit status, or 128 + the signal that ended it.
    @discardableResult
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs `arguments` to the end and returns what it printed.
    static func output(of arguments: [String]) throws -> (status: Int32, text: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-bench-\(getpid())-\(UUID().uuidString)").path
        defer { unlink(file) }
        let status = wait(try start(arguments, output: file))
        return (status, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
    }
}

/// Wall-clock and monotonic time in the units the figures use.
enum Clock {
    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// Figures are printed as one JSON object, which `bench.sh` puts into the results.
func printFigures(_ figures: [String: Double]) {
    let fields = figures.keys.sorted().map { key in "\"\(key)\": \(String(format: "%.6f", figures[key]!))" }
    print("{" + fields.joined(separator: ", ") + "}")
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// Failures counted from many threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// The store renkeid writes, opened to read alongside it.
func openStoreToRead(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.readonly = true
    return try DatabaseQueue(path: path, configuration: configuration)
}
