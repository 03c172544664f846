import Foundation
import Testing
import RenkeiCore
import RenkeiPostgres

/// The built `renkeid`.
let renkeid = repository + "/.build/debug/renkeid"

/// Several real renkeid nodes on one scratch PostgreSQL, each a process of its own with its own
/// state directory and log file, sharing one jobs directory — what the fault tests break.
///
/// Timings are short (lease 3 s renewed every second, heartbeat 1 s, dead after 4 s, self-fence
/// after 3 s) so a failover takes seconds; their invariants are the ones renkeid checks at start.
final class Cluster {
    let postgres: ScratchPostgres
    let root: String
    /// Where each job's step writes what it did (`Cluster.tickJob`): one line per start and end.
    var executions: String { root + "/executions" }
    private(set) var processes: [String: Process] = [:]

    static let timings = ["--lease-ttl", "3s", "--lease-renew", "1s", "--lease-margin", "1s", "--heartbeat", "1s",
                          "--dead-after", "4s", "--self-fence-after", "3s", "--fence-kill-grace", "1s", "--retry-grace", "1s"]
    /// Lease TTL + one renewal: how long a kill -9 of the leader may leave the cluster without one.
    static let failover: Duration = .seconds(4)

    init(postgres: ScratchPostgres) throws {
        self.postgres = postgres
        root = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-cluster-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        chmod(root, 0o755)
        _ = FileManager.default.createFile(atPath: executions, contents: nil, attributes: [.posixPermissions: 0o666])
    }

    deinit {
        for process in processes.values where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // Steps a killed node left (no systemd here to kill its cgroup) end with their lock files' directory.
        _ = try? execute("/usr/bin/pkill", ["-KILL", "-f", root])
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A job file in the shared jobs directory.
    func writeJob(_ name: String, _ yaml: String) {
        _ = FileManager.default.createFile(atPath: root + "/jobs/\(name).yaml", contents: Data(yaml.utf8), attributes: [.posixPermissions: 0o644])
    }

    /// A job every `every` seconds whose one step holds an exclusive lock on its logical time for
    /// `seconds`: a second copy of the same slot running at the same time writes `DUPLICATE`.
    /// Each start and end is a line of `executions`: `start|end|DUPLICATE TIME RUN_ID PID`.
    func tickJob(_ name: String = "tick", every: Int = 2, seconds: Double = 0.5, retry: String? = nil) {
        let script = """
            exec 9>\(root)/slot-$RENKEI_JOB-$RENKEI_LOGICAL_TIME.lock
            if ! flock -n 9; then echo "DUPLICATE $RENKEI_LOGICAL_TIME $RENKEI_RUN_ID $$" >> \(executions); exit 3; fi
            echo "start $RENKEI_LOGICAL_TIME $RENKEI_RUN_ID $$" >> \(executions)
            sleep \(seconds)
            echo "end $RENKEI_LOGICAL_TIME $RENKEI_RUN_ID $$" >> \(executions)
            """
        var yaml = "schedule: \"*:*:0/\(every)\"\n"
        if let retry { yaml += "retry: \(retry)\n" }
        yaml += "steps:\n  - name: work\n    run: [\"/bin/sh\", \"-c\", \(Self.quoted(script))]\n"
        writeJob(name, yaml)
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// Starts node `name` (or starts it again, keeping its state directory and appending to its log),
    /// connecting as PostgreSQL role `user` (renkei_a, renkei_b: a node the tests can cut off alone).
    @discardableResult
    func start(_ name: String, _ extra: [String] = [], user: String = "renkei") throws -> Int32 {
        let state = root + "/\(name)"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let logPath = root + "/\(name).log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: renkeid)
        process.arguments = ["--store", postgres.url(user: user), "--node-name", name, "--jobs", root + "/jobs", "--state", state,
                             "--socket", state + "/control.sock", "--log-target", "console", "--shutdown-grace", "2"] + Self.timings + extra
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "RENKEI_STORE")
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try log.close()
        processes[name] = process
        return process.processIdentifier
    }

    func pid(_ name: String) -> Int32? { processes[name].flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// Sends `signal` to node `name`; for SIGKILL, waits until the process is gone.
    func signal(_ name: String, _ signal: Int32) {
        guard let process = processes[name], process.isRunning else { return }
        kill(process.processIdentifier, signal)
        if signal == SIGKILL || signal == SIGTERM { process.waitUntilExit() }
    }

    func log(_ name: String) -> String {
        (try? String(contentsOfFile: root + "/\(name).log", encoding: .utf8)) ?? ""
    }

    func logs() -> String { processes.keys.sorted().map { "--- \($0)\n" + log($0) }.joined(separator: "\n") }

    /// One value of a query (psql -A -t), trimmed.
    func value(_ sql: String) throws -> String {
        let answer = try postgres.psql(sql)
        guard answer.status == 0 else { throw ScratchFailure("psql failed: \(answer.stderr)") }
        return answer.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The node whose incarnation holds the lease now (by the database's clock), if any.
    func leader() throws -> String? {
        let name = try value("SELECT n.node_name FROM lease l JOIN node n ON n.incarnation = l.holder WHERE l.role = 'scheduler' AND l.expires_at > now()")
        return name.isEmpty ? nil : name
    }

    /// Waits up to `limit` for `condition`; false if it never held.
    func eventually(_ limit: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
        let end = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < end {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return try condition()
    }

    /// What must hold after any fault, once the leader has swept (each names what broke):
    /// - no (job, logical time) with two first scheduled attempts, and no slot without its run;
    /// - no missing slot of `job` (every `every` seconds) between its first and last on record;
    /// - no run `running` under a node that is dead;
    /// - no two copies of one slot's step ran at the same time (`DUPLICATE` lines);
    /// - the audit chain verifies.
    func invariantProblems(job: String = "tick", every: Int = 2) throws -> [String] {
        var problems: [String] = []
        let doubled = try value("""
            SELECT string_agg(job || '@' || logical_time || ' x' || n, ', ') FROM
              (SELECT job, logical_time, count(*) AS n FROM run WHERE trigger IN ('schedule', 'catch-up') AND attempt = 1
               GROUP BY job, logical_time HAVING count(*) > 1) d
            """)
        if !doubled.isEmpty { problems.append("slots with two first attempts: \(doubled)") }
        let orphan = try value("""
            SELECT string_agg(s.job || '@' || s.logical_time, ', ') FROM slot s
            WHERE NOT EXISTS (SELECT 1 FROM run r WHERE r.job = s.job AND r.logical_time = s.logical_time AND r.trigger IN ('schedule', 'catch-up') AND r.attempt = 1)
            """)
        if !orphan.isEmpty { problems.append("slots without their run: \(orphan)") }
        let span = try value("SELECT coalesce((max(logical_time) - min(logical_time)) / \(every) + 1 - count(*), 0) FROM slot WHERE job = '\(job)'")
        if span != "0" {
            let have = try value("SELECT string_agg(logical_time::text, ' ' ORDER BY logical_time) FROM slot WHERE job = '\(job)'")
            problems.append("\(span) slot(s) of \(job) missing between the first and the last on record: \(have)")
        }
        let stranded = try value("""
            SELECT string_agg(r.id || ' on ' || n.node_name, ', ') FROM run r JOIN node n ON n.incarnation = r.owner_node
            WHERE r.state = 'running' AND n.state = 'dead'
            """)
        if !stranded.isEmpty { problems.append("runs still running under a dead node: \(stranded)") }
        let executed = (try? String(contentsOfFile: executions, encoding: .utf8)) ?? ""
        let duplicates = executed.split(separator: "\n").filter { $0.hasPrefix("DUPLICATE") }
        if !duplicates.isEmpty { problems.append("two copies of a slot's step at once: \(duplicates.joined(separator: "; "))") }
        let audit = try execute(renkeictl, ["audit", "--verify", "--store", postgres.url()])
        if audit.status != 0 { problems.append("the audit chain does not verify: \(audit.stdout) \(audit.stderr)") }
        return problems
    }

    /// Every run, one line each, for a failure's message.
    func runs() -> String {
        (try? value("SELECT string_agg(id || ' ' || job || ' ' || logical_time || ' ' || trigger || ' #' || attempt || ' ' || state || ' ' || coalesce(error_message, ''), E'\\n' ORDER BY id) FROM run")) ?? "(runs not readable)"
    }

    /// The node that started run `id` (its owner), by name.
    func owner(ofRun id: Int64) throws -> String {
        try value("SELECT n.node_name FROM run r JOIN node n ON n.incarnation = r.owner_node WHERE r.id = \(id)")
    }

    /// The scene most fault tests start from: a fresh database, the job `tick` every 2 s, node a
    /// leading, node b following, and `succeeded` runs of tick already done (under a).
    static func ledByA(succeeded: Int) async throws -> Cluster {
        let cluster = try Cluster(postgres: try await ScratchPostgres().migrated())
        cluster.tickJob(every: 2, seconds: 0.3)
        try cluster.start("a")
        #expect(try cluster.eventually { try cluster.leader() == "a" }, "a never led:\n\(cluster.logs())")
        try cluster.start("b")
        #expect(try cluster.eventually { Int(try cluster.value("SELECT count(*) FROM run WHERE state = 'succeeded'"))! >= succeeded },
                "fewer than \(succeeded) runs succeeded under a:\n\(cluster.logs())")
        return cluster
    }
}
