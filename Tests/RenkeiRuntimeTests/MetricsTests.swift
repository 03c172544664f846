import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// A scratch with `renkei.yaml` naming a textfile in its own directory, and two jobs: one that
/// succeeds and one that fails, each every two seconds.
private func monitoredScratch() throws -> (scratch: Scratch, config: String, textfile: String) {
    let scratch = try Scratch()
    let directory = scratch.root + "/node-exporter"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let textfile = directory + "/renkei.prom"
    let config = scratch.root + "/renkei.yaml"
    try "# site\nmetrics:\n  textfile: \(textfile)\n".write(toFile: config, atomically: true, encoding: .utf8)
    scratch.writeJob("juki-ok", "description: 住民記録\nschedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
    scratch.writeJob("nenkin-ng", "schedule: \"*:*:1/2\"\nsteps:\n  - name: a\n    run: [\"/bin/false\"]\n")
    return (scratch, config, textfile)
}

/// The value of the sample `series` (name and labels exactly as written) in exposition `text`.
func sample(_ series: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

private func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

@Suite(.serialized) struct MetricsTests {
    @Test func renkeidPublishesEachJobsFiguresAsTheStoreHasThem() throws {
        let (scratch, config, textfile) = try monitoredScratch()
        let daemon = try DaemonProcess(scratch, arguments: ["--config", config])
        #expect(eventually(seconds: 20) {
            let text = read(textfile)
            return (sample("renkei_job_unresolved_failures{renkei_job=\"nenkin-ng\"}", in: text) ?? 0) >= 2
                && sample("renkei_job_last_success_timestamp_seconds{renkei_job=\"juki-ok\"}", in: text) != nil
        }, "\(daemon.log)")
        daemon.stop()
        #expect(daemon.process.terminationStatus == 0, "\(daemon.log)")

        // After the stop the file no longer changes: compare it with the store.
        let text = read(textfile)
        let store = try StateDirectory(scratch.state).openStoreForReading()
        defer { store.close() }
        let runs = try allRuns(scratch)
        let lastSuccess = try #require(runs.filter { $0.job == "juki-ok" && $0.state == .succeeded }.compactMap(\.finishedAt).max())
        let lastFailure = try #require(runs.filter { $0.job == "nenkin-ng" && $0.state == .failed }.compactMap(\.finishedAt).max())
        let okSuccess = try #require(sample("renkei_job_last_success_timestamp_seconds{renkei_job=\"juki-ok\"}", in: text))
        #expect(abs(okSuccess - lastSuccess.timeIntervalSince1970) < 0.01, "the newest success, to the millisecond")
        let ngFailure = try #require(sample("renkei_job_last_failure_timestamp_seconds{renkei_job=\"nenkin-ng\"}", in: text))
        #expect(abs(ngFailure - lastFailure.timeIntervalSince1970) < 0.01)
        #expect(sample("renkei_job_last_success_timestamp_seconds{renkei_job=\"nenkin-ng\"}", in: text) == nil, "never succeeded: no sample")
        let unresolved = try store.unresolvedFailures(job: "nenkin-ng").count
        #expect(sample("renkei_job_unresolved_failures{renkei_job=\"nenkin-ng\"}", in: text) == Double(unresolved))
        #expect(sample("renkei_job_unresolved_failures{renkei_job=\"juki-ok\"}", in: text) == 0)
        let failed = runs.filter { $0.job == "nenkin-ng" && $0.state == .failed }.count
        #expect(sample("renkei_runs_total{renkei_job=\"nenkin-ng\",state=\"failed\"}", in: text) == Double(failed))
        let succeeded = runs.filter { $0.job == "juki-ok" && $0.state == .succeeded }.count
        #expect(sample("renkei_runs_total{renkei_job=\"juki-ok\",state=\"succeeded\"}", in: text) == Double(succeeded))
        #expect(sample("renkei_job_running{renkei_job=\"juki-ok\"}", in: text) == 0)
        #expect(sample("renkei_job_last_duration_seconds{renkei_job=\"juki-ok\"}", in: text).map { $0 >= 0 && $0 < 5 } == true)
        #expect(sample("renkei_store_writable", in: text) == 1)
        let started = try #require(sample("renkei_daemon_start_time_seconds", in: text))
        #expect(started <= (runs.compactMap(\.startedAt).min()?.timeIntervalSince1970 ?? 0) + 1)

        var status = stat()
        #expect(stat(textfile, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o644, "node_exporter, another user, reads it")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.root + "/node-exporter")
        #expect(leftovers == ["renkei.prom"], "no temporary file left behind")

        // Prometheus' own linter: names, types, HELP, units and counters as its conventions want.
        let lint = try execute("/bin/sh", ["-c", "promtool check metrics < '\(textfile)'"])
        #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "promtool: \(lint.stdout)\(lint.stderr)")
    }

    /// The alert rules shipped in Units/prometheus load in Prometheus (promtool, from Debian's
    /// prometheus package) and name only series renkeid writes.
    @Test func theShippedAlertRulesLoadAndUseRenkeidsSeries() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let rules = repository.appendingPathComponent("Units/prometheus/renkei-alerts.yml").path
        let check = try execute("/usr/bin/promtool", ["check", "rules", rules])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS"))
        let text = try String(contentsOfFile: rules, encoding: .utf8)
        let written = ["renkei_job_last_success_timestamp_seconds", "renkei_job_last_failure_timestamp_seconds", "renkei_job_unresolved_failures",
                       "renkei_job_last_duration_seconds", "renkei_job_running", "renkei_runs_total", "renkei_daemon_start_time_seconds", "renkei_store_writable",
                       "renkei_job"]   // the label
        let named = Set(text.matches(of: /renkei_[a-z_]+/).map { String($0.output) })
        #expect(!named.isEmpty && named.isSubset(of: Set(written)), "unknown series in the rules: \(named.subtracting(written))")
    }

    @Test func aReaderNeverSeesHalfAFileWhileRunsEnd() throws {
        let (scratch, config, textfile) = try monitoredScratch()
        // Many jobs make a long file; both jobs end every second or so.
        for index in 0..<60 {
            scratch.writeJob("filler-\(index)", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        }
        let daemon = try DaemonProcess(scratch, arguments: ["--config", config])
        defer { daemon.stop() }
        #expect(eventually(seconds: 20) { FileManager.default.fileExists(atPath: textfile) }, "\(daemon.log)")

        var versions: Set<String> = []
        var partial: [String] = []
        var reads = 0
        // Read as fast as it goes until the reader has seen several rewrites (each run end is one).
        let end = Date().addingTimeInterval(60)
        while versions.count < 8 && Date() < end {
            reads += 1
            guard let data = FileManager.default.contents(atPath: textfile) else {
                partial.append("(the file was missing)")
                continue
            }
            let text = String(decoding: data, as: UTF8.self)
            if !(text.hasPrefix("# HELP renkei_job_last_success_timestamp_seconds ") && text.hasSuffix("renkei_store_writable 1\n")) {
                partial.append(text)
            }
            versions.insert(text)
        }
        #expect(versions.count >= 8, "the reader saw \(versions.count) versions in \(reads) reads; \(daemon.log)")
        #expect(partial.isEmpty, "\(partial.count) of \(reads) reads saw a partial file: \(partial.first?.suffix(200) ?? "")")
    }

    @Test func aBrokenRenkeiYamlOnReloadIsLoggedWithItsPositionAndThePreviousSettingsStay() throws {
        let (scratch, config, textfile) = try monitoredScratch()
        let daemon = try DaemonProcess(scratch, arguments: ["--config", config])
        defer { daemon.stop() }
        #expect(eventually(seconds: 20) { FileManager.default.fileExists(atPath: textfile) }, "\(daemon.log)")

        let moved = scratch.root + "/node-exporter/moved.prom"
        try "metrics:\n  textfile: \(moved)\n  textfiel: typo\n".write(toFile: config, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(eventually(seconds: 20) { daemon.log.contains("renkeid reloaded the job files") }, "\(daemon.log)")
        #expect(daemon.log.contains("\(config):3:3: error: unknown key 'textfiel' in metrics (did you mean 'textfile'?); allowed keys: textfile"), "\(daemon.log)")
        #expect(daemon.log.contains("renkeid keeps the settings it had"))
        // Still the old file: removed, it comes back at the next run end.
        try FileManager.default.removeItem(atPath: textfile)
        #expect(eventually(seconds: 20) { FileManager.default.fileExists(atPath: textfile) }, "\(daemon.log)")
        #expect(!FileManager.default.fileExists(atPath: moved))

        // Fixed: the new path is used from the reload on.
        try "metrics:\n  textfile: \(moved)\n".write(toFile: config, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(eventually(seconds: 20) { FileManager.default.fileExists(atPath: moved) }, "\(daemon.log)")
    }

    @Test func aBrokenRenkeiYamlAtStartStopsNoJobAndCheckNamesTheLine() throws {
        let (scratch, config, textfile) = try monitoredScratch()
        try "metrics: { textfile: relative.prom }\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(scratch, arguments: ["--config", config])
        #expect(try eventually(seconds: 20) { try allRuns(scratch).contains { $0.state == .succeeded } }, "\(daemon.log)")
        daemon.stop()
        #expect(daemon.log.contains("\(config):1:22: error: 'textfile' must be an absolute path"), "\(daemon.log)")
        #expect(daemon.log.contains("renkeid runs without it (no metrics file)"))
        #expect(!FileManager.default.fileExists(atPath: textfile))

        let check = try execute(renkeictl, ["check", "--jobs", scratch.jobs, "--config", config])
        #expect(check.status == 2)
        #expect(check.stderr.contains("\(config):1:22: error: 'textfile' must be an absolute path"), "\(check.stderr)")
        try "metrics: { textfile: /tmp/renkei.prom }\n".write(toFile: config, atomically: true, encoding: .utf8)
        let good = try execute(renkeictl, ["check", "--jobs", scratch.jobs, "--config", config])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("ok  \(config)  site configuration, metrics to /tmp/renkei.prom"))
    }

    @Test func nodeExporterServesTheSeriesAndFindsTheFileWellFormed() throws {
        let (scratch, config, textfile) = try monitoredScratch()
        let daemon = try DaemonProcess(scratch, arguments: ["--config", config])
        #expect(eventually(seconds: 20) { sample("renkei_job_unresolved_failures{renkei_job=\"nenkin-ng\"}", in: read(textfile)).map { $0 >= 1 } == true },
                "\(daemon.log)")
        daemon.stop()

        let directory = scratch.root + "/node-exporter"
        let exporter = try NodeExporter(textfileDirectory: directory, log: scratch.root + "/node-exporter.log")
        defer { exporter.stop() }
        let scraped = try #require(exporter.scrape(), "node_exporter did not answer: \(exporter.log)")
        #expect(sample("node_textfile_scrape_error", in: scraped) == 0, "\(scraped.split(separator: "\n").filter { $0.contains("textfile") })")
        #expect(sample("renkei_job_unresolved_failures{renkei_job=\"nenkin-ng\"}", in: scraped).map { $0 >= 1 } == true)
        #expect(sample("renkei_job_running{renkei_job=\"juki-ok\"}", in: scraped) == 0)
        #expect(scraped.contains("# TYPE renkei_runs_total counter"))
        #expect(sample("renkei_store_writable", in: scraped) == 1)

        // The same exporter rejects a file that breaks the format: the check above can fail.
        try "renkei_broken{ 1\n".write(toFile: directory + "/broken.prom", atomically: true, encoding: .utf8)
        let broken = try #require(exporter.scrape())
        #expect(sample("node_textfile_scrape_error", in: broken) == 1)
    }
}

/// Debian's prometheus-node-exporter on a free loopback port, with only the textfile collector.
final class NodeExporter {
    let process = Process()
    let port: Int
    let logPath: String

    init(textfileDirectory: String, log: String) throws {
        port = freeLoopbackPort()
        logPath = log
        FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus-node-exporter")
        process.arguments = ["--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults", "--collector.textfile",
                             "--collector.textfile.directory=\(textfileDirectory)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// `/metrics` through curl, once the exporter listens.
    func scrape() -> String? {
        var text: String?
        _ = eventually(seconds: 20) {
            guard process.isRunning, let result = try? execute("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/metrics"]), result.status == 0 else { return false }
            text = result.stdout
            return true
        }
        return text
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// A TCP port on 127.0.0.1 nobody listens on (the kernel's pick, released for the caller).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
