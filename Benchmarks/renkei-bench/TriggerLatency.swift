import ArgumentParser
import Foundation

/// Trigger latency: SAMPLES files arrive in DIRECTORY one at a time, as a sender hands them over —
/// the data file `PREFIX_YYYYMMDD.csv` (a new date and new content each time), INTERVAL seconds
/// later its done file `PREFIX_YYYYMMDD.done` — and each time the stamp child, started by whatever
/// watches the directory, appends "ARG EXEC_NS" to STAMPS. A sample is the wall clock read right
/// before the done file's `open` to the child's first clock read; the next sample begins once the
/// stamp is there. The same for renkeid's `trigger:` and for systemd's `.path` unit.
struct TriggerLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trigger-latency",
                                                    abstract: "Create data + done files one at a time; done file to the stamp child's exec, in ms.")

    @Option(help: "The watched directory.") var directory: String
    @Option(help: "The file the stamp child appends to.") var stamps: String
    @Option var samples = 20
    @Option(help: "Seconds between a data file and its done file, and after each stamp.") var interval = 0.5
    @Option(help: "Seconds to wait for each stamp.") var timeout = 15.0
    @Option(help: "The files are PREFIX_YYYYMMDD.csv and PREFIX_YYYYMMDD.done.") var prefix = "sample"
    @Option(help: "The first sample's date (YYYY-MM-DD); one day later for each next.") var firstDate = "2026-01-01"

    func run() throws {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyy-MM-dd"
        guard let first = format.date(from: firstDate) else { throw ValidationError("--first-date: not YYYY-MM-DD: \(firstDate)") }
        format.dateFormat = "yyyyMMdd"
        var latencies: [Double] = []
        for index in 0..<samples {
            let day = format.string(from: first.addingTimeInterval(Double(index) * 86400))
            let seen = stampLines().count
            try write("\(directory)/\(prefix)_\(day).csv", "sample \(index) of \(samples), \(UUID().uuidString)\n")
            usleep(useconds_t(interval * 1e6))
            let created = Clock.realtimeNanoseconds()
            try write("\(directory)/\(prefix)_\(day).done", "")
            let waitBegan = Clock.monotonicSeconds()
            var lines = stampLines()
            while lines.count <= seen {
                guard Clock.monotonicSeconds() - waitBegan < timeout else {
                    throw Spawn.Failure(description: "no stamp in \(stamps) within \(timeout) s of \(prefix)_\(day).done (sample \(index + 1) of \(samples))")
                }
                usleep(2_000)
                lines = stampLines()
            }
            guard lines.count == seen + 1, let exec = lines.last?.split(separator: " ").last.flatMap({ Int64($0) }) else {
                throw Spawn.Failure(description: "\(lines.count - seen) stamps for one done file (\(prefix)_\(day).done) in \(stamps)")
            }
            latencies.append(Double(exec - created) / 1e6)
            usleep(useconds_t(interval * 1e6))
        }
        latencies.sort()
        printFigures(["samples": Double(samples), "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99), "max_ms": latencies.last!])
    }

    /// The stamp lines so far (none while the file is missing).
    func stampLines() -> [Substring] {
        ((try? String(contentsOfFile: stamps, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    /// Creates `path` (it must not exist) holding `text`.
    func write(_ path: String, _ text: String) throws {
        let file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw Spawn.Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(file) }
        let bytes = Array(text.utf8)
        guard bytes.isEmpty || Glibc.write(file, bytes, bytes.count) == bytes.count else {
            throw Spawn.Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
