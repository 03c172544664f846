import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// renkeictl against a real renkeid over its real socket.
struct Control {
    let scratch: Scratch
    var socket: String { scratch.root + "/run/control.sock" }

    /// renkeictl SUBCOMMAND ARGS… pointed at this scratch daemon.
    func ctl(_ arguments: [String], as user: String? = nil) throws -> Finished {
        var environment = ProcessInfo.processInfo.environment
        environment["RENKEI_JOBS"] = scratch.jobs
        environment["RENKEI_STATE"] = scratch.state
        environment["RENKEI_SOCKET"] = socket
        if let user {
            return try execute("/usr/bin/setpriv", ["--reuid=\(user)", "--regid=\(user)", "--init-groups", renkeictl] + arguments, environment: environment)
        }
        return try execute(renkeictl, arguments, environment: environment)
    }

    func daemon(_ extra: [String] = []) throws -> DaemonProcess {
        try FileManager.default.createDirectory(atPath: scratch.root + "/run", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let daemon = try DaemonProcess(scratch, arguments: ["--socket", socket] + extra)
        _ = eventually { FileManager.default.fileExists(atPath: socket) }
        return daemon
    }
}

private let linkJob = """
    timezone: Asia/Tokyo
    steps:
      - name: export
        run: ["/bin/sh", "-c", "echo \\"$RENKEI_LOGICAL_TIME $RENKEI_RUN_ID\\" >> \\"$RENKEI_WORK_DIR/export.log\\"; echo exported"]
      - name: deliver
        run: ["/bin/sh", "-c", "test -d \\"$INBOX\\" || { echo \\"no inbox $INBOX\\" >&2; exit 2; }; cp \\"$RENKEI_WORK_DIR/export.log\\" \\"$INBOX/\\"; echo \\"$RENKEI_LOGICAL_TIME\\" > \\"$INBOX/logical\\""]
    """

@Suite(.serialized) struct RerunTests {
    func job(_ scratch: Scratch, extra: String = "") {
        scratch.writeJob("link", linkJob.replacingOccurrences(of: "steps:", with: "environment: { INBOX: \(scratch.root)/inbox }\n\(extra)steps:"))
    }

    @Test func aRerunStartsAtTheFailedStepInTheSameWorkDirectoryForTheSameLogicalTime() throws {
        let scratch = try Scratch()
        job(scratch)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        let first = try control.ctl(["run", "link", "--logical-time", "2026-11-25 06:30", "--wait", "--reason", "ticket 1"])
        #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("deliver: failed"))
        try FileManager.default.createDirectory(atPath: scratch.root + "/inbox", withIntermediateDirectories: true)
        let rerun = try control.ctl(["rerun", "1", "--wait", "--reason", "inbox created"])
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        #expect(rerun.stdout.contains("export: reused"))
        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let original = try #require(try store.detail(runID: 1))
        let repeated = try #require(try store.detail(runID: 2))
        #expect(repeated.run.trigger == .rerun)
        #expect(repeated.run.rerunOf == 1)
        #expect(repeated.run.logicalTime == original.run.logicalTime)
        #expect(repeated.run.workDirectory == original.run.workDirectory, "the failed run's work directory is reused")
        #expect(repeated.steps.map(\.state) == [.reused, .succeeded])
        #expect(try String(contentsOfFile: scratch.root + "/inbox/logical", encoding: .utf8) == "2026-11-25T06:30:00+09:00\n")
        // The export ran once: its output is delivered by the rerun.
        #expect(try String(contentsOfFile: scratch.root + "/inbox/export.log", encoding: .utf8) == "2026-11-25T06:30:00+09:00 1\n")
        #expect(try store.detail(runID: 1)?.run.resolvedBy == 2)
        // A resolved failure is not rerun again by accident.
        let again = try control.ctl(["rerun", "1"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already resolved by run 2"))
    }

    @Test func fromTopCopiesTheWorkDirectoryAndOnlyRunsOneStep() throws {
        let scratch = try Scratch()
        job(scratch)
        try FileManager.default.createDirectory(atPath: scratch.root + "/inbox", withIntermediateDirectories: true)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(try control.ctl(["run", "link", "--logical-time", "2026-11-25", "--wait"]).status == 0)
        // A succeeded run is rerun only with --force.
        let refused = try control.ctl(["rerun", "1", "--from-top"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("succeeded; rerunning it would deliver the same data twice"))
        let top = try control.ctl(["rerun", "1", "--from-top", "--force", "--wait"])
        #expect(top.status == 0, "\(top.stderr)")
        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let copied = try #require(try store.detail(runID: 2))
        #expect(copied.run.workDirectory == scratch.state + "/work/link/2")
        #expect(copied.steps.map(\.state) == [.succeeded, .succeeded])
        // The copy holds run 1's export and run 2's.
        #expect(try String(contentsOfFile: scratch.state + "/work/link/2/export.log", encoding: .utf8).split(separator: "\n").count == 2)
        let only = try control.ctl(["rerun", "2", "--only", "deliver", "--force", "--wait"])
        #expect(only.status == 0, "\(only.stderr)")
        #expect(try store.detail(runID: 3)?.steps.map(\.state) == [.notRun, .succeeded])
        let unknown = try control.ctl(["rerun", "2", "--only", "nosuch", "--force"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("has no step 'nosuch' (steps: export, deliver)"))
    }

    @Test func aRerunResolvesEveryFailedAttemptOfItsLogicalTime() throws {
        let scratch = try Scratch()
        // One slot, three seconds from now.
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let slot = formatter.string(from: Date().addingTimeInterval(3))
        job(scratch, extra: "schedule: \"\(slot) UTC\"\nretry: { limit: 1, delay: 1s }\ncatch_up: none\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        // The scheduled slot fails, its retry fails too.
        #expect(try eventually(seconds: 20) { try allRuns(scratch).filter { $0.state == .failed }.count >= 2 })
        let failures = try allRuns(scratch).filter { $0.state == .failed }
        #expect(failures[1].trigger == .retry && failures[1].retryOf == failures[0].id)
        try FileManager.default.createDirectory(atPath: scratch.root + "/inbox", withIntermediateDirectories: true)
        let plan = try control.ctl(["rerun", "--failed"])
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("1 unresolved failure(s) would be rerun; nothing was changed"), "one rerun per failed logical time: \(plan.stdout)")
        #expect(try allRuns(scratch).count == failures.count, "the plan changes nothing")
        let done = try control.ctl(["rerun", "--failed", "--yes", "--reason", "inbox created"])
        #expect(done.status == 0, "\(done.stdout)\(done.stderr)")
        #expect(try eventually { try allRuns(scratch).contains { $0.trigger == .rerun && $0.state == .succeeded } })
        let rerun = try #require(try allRuns(scratch).first { $0.trigger == .rerun })
        #expect(rerun.rerunOf == failures[1].id, "the newest failed attempt is the one rerun")
        for failure in failures {
            #expect(try RunStore.openForReading(at: scratch.state + "/renkei.db").detail(runID: failure.id!)?.run.resolvedBy == rerun.id)
        }
        let history = try control.ctl(["history", "link"])
        #expect(history.stdout.contains("rerun of \(failures[1].id!)"))
        #expect(history.stdout.contains("retry of \(failures[0].id!), resolved by \(rerun.id!)"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to create test users"))
    func onlyOperatorsMayAskAndEveryRequestIsAudited() throws {
        let scratch = try Scratch()
        job(scratch)
        let suffix = String(UUID().uuidString.prefix(6)).lowercased()
        let group = "rk-ops-\(suffix)", member = "rk-op-\(suffix)", outsider = "rk-out-\(suffix)"
        _ = try execute("/usr/sbin/groupadd", [group])
        _ = try execute("/usr/sbin/useradd", ["-M", "-G", group, member])
        _ = try execute("/usr/sbin/useradd", ["-M", outsider])
        defer {
            _ = try? execute("/usr/sbin/userdel", [member])
            _ = try? execute("/usr/sbin/userdel", [outsider])
            _ = try? execute("/usr/sbin/groupdel", [group])
        }
        // The store is readable by the group, as the unit's StateDirectory makes it.
        chmod(scratch.root, 0o755)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--operators-group", group])
        defer { daemon.stop() }
        // A socket file open to everyone (a misconfiguration) still lets only operators in.
        chmod(control.socket, 0o666)
        let refused = try control.ctl(["run", "link"], as: outsider)
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("permission denied: \(outsider) is not root, renkeid's user (root) or a member of the operators' group '\(group)'"))
        let readOnly = try control.ctl(["status"], as: outsider)
        #expect(readOnly.status == 4)
        chmod(control.socket, 0o660)
        let accepted = try control.ctl(["run", "link", "--reason", "from the operator"], as: member)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout.contains("queued as run 1"))
        let denied = try control.ctl(["status"], as: outsider)
        #expect(denied.status == 4, "the socket's mode keeps others out first")
        #expect(denied.stderr.contains("permission denied on \(control.socket)"))

        let audit = try control.ctl(["audit", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        // Both of the outsider's connections are refused before their request is read: audited alike.
        #expect(rows.count == 3)
        for refused in rows[0...1] {
            #expect(refused["user"] as? String == outsider)
            #expect(refused["request"] as? String == "(not read: refused at connect)")
            #expect(refused["result"] as? String == "refused: not an operator")
        }
        #expect(rows[2]["user"] as? String == member)
        #expect(rows[2]["result"] as? String == "accepted")
        #expect(rows[2]["reason"] as? String == "from the operator")
        #expect(rows[2]["run_id"] as? Int == 1)
        #expect(try RunStore.openForReading(at: scratch.state + "/renkei.db").detail(runID: 1)?.run.requestedByUser == member)
    }

    @Test func theAuditChainShowsAnEditedRow() throws {
        let scratch = try Scratch()
        job(scratch)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        for index in 1...3 { _ = try control.ctl(["run", "link", "--reason", "request \(index)"]) }
        _ = try control.ctl(["cancel", "99"])
        daemon.stop()
        let intact = try control.ctl(["audit", "--verify"])
        #expect(intact.status == 0, "\(intact.stderr)")
        #expect(intact.stdout == "audit log intact: 4 rows, hash chain verified\n")
        let edit = try execute("/usr/bin/sqlite3", [scratch.state + "/renkei.db",
                                                    "DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'nothing to see' WHERE id = 2;"])
        #expect(edit.status == 0, "\(edit.stderr)")
        let broken = try control.ctl(["audit", "--verify"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("the audit log was altered"))
        #expect(broken.stdout.contains("audit row 2: its contents do not match its hash"), "\(broken.stdout)")
        let deleted = try execute("/usr/bin/sqlite3", [scratch.state + "/renkei.db", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 1;"])
        #expect(deleted.status == 0)
        #expect(try control.ctl(["audit", "--verify"]).stdout.contains("audit row 1 is missing"))
    }

    @Test func badClientsLeaveTheDaemonAnswering() throws {
        let scratch = try Scratch()
        job(scratch)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        let path = control.socket
        let raw: @Sendable (Data, Bool) -> String = { bytes, wait in rawExchange(path, bytes, wait: wait) }
        #expect(raw(Data("{not json\n".utf8), true).contains("malformed request"))
        #expect(raw(Data(repeating: UInt8(ascii: "x"), count: 10 * 1024 * 1024) + Data("\n".utf8), true).contains("request too large"))
        #expect(raw(Data("{\"version\":99,\"operation\":\"status\"}\n".utf8), true).contains("protocol version 99"))
        // A client that connects and says nothing is dropped after the idle time; others are served meanwhile.
        let silent = DispatchQueue(label: "silent")
        silent.async { _ = raw(Data(), true) }
        // 500 clients at once.
        let group = DispatchGroup()
        let answered = Counter(), busy = Counter()
        for _ in 0..<500 {
            DispatchQueue.global().async(group: group) {
                let answer = raw(Data("{\"version\":1,\"operation\":\"status\"}\n".utf8), true)
                if answer.contains("is running") { answered.add(1) } else if answer.contains("renkeid is busy") { busy.add(1) }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(answered.value + busy.value == 500, "every client got an answer: \(answered.value) served, \(busy.value) told to retry")
        #expect(answered.value > 0)
        let status = try control.ctl(["status"])
        #expect(status.status == 0, "the daemon still answers: \(status.stderr)")
        #expect(daemon.process.isRunning)
    }

    @Test func exitStatusesAreSPECs() throws {
        let scratch = try Scratch()
        job(scratch)
        let control = Control(scratch: scratch)
        // 3: no daemon.
        let down = try control.ctl(["status"])
        #expect(down.status == 3)
        #expect(down.stderr.contains("systemctl start renkeid"))
        #expect(down.stderr.contains("--local"))
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(try control.ctl(["status"]).status == 0)
        #expect(try control.ctl(["run", "link", "--wait"]).status == 1)   // fails: no inbox
        #expect(try control.ctl(["rerun"]).status == 2)
        #expect(try control.ctl(["run", "link", "--logical-time", "yesterday"]).status == 2)
        #expect(try control.ctl(["run", "nosuch"]).status == 5)
        #expect(try control.ctl(["rerun", "999"]).status == 5)
        #expect(try control.ctl(["cancel", "999"]).status == 5)
    }
}

/// Sends raw bytes to a control socket and returns what comes back (empty if nothing).
func rawExchange(_ path: String, _ bytes: Data, wait: Bool) -> String {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in Array(path.utf8).enumerated() { raw[i] = b } }
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    guard wait else { return "" }
    var timeout = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = recv(descriptor, &buffer, buffer.count, 0)
    return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
}

@Suite(.serialized) struct ControlCommandTests {
    @Test func cancelStopsARunningRunAndRecordsWhoDidIt() throws {
        let scratch = try Scratch()
        let marker = "renkei-cancel-\(UUID().uuidString.prefix(8))"
        scratch.writeJob("long", "steps:\n  - name: transfer\n    run: [\"/bin/sh\", \"-c\", \"sleep 60 & wait; : \(marker)\"]\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        #expect(try control.ctl(["run", "long"]).status == 0)
        #expect(eventually { !livingProcesses(containing: marker).isEmpty })
        let status = try control.ctl(["status"])
        #expect(status.stdout.contains("running: run 1 long"))
        let cancelled = try control.ctl(["cancel", "1", "--reason", "wrong file"])
        #expect(cancelled.status == 0, "\(cancelled.stderr)")
        #expect(try eventually { try allRuns(scratch).first?.state == .cancelled })
        let run = try #require(try allRuns(scratch).first)
        #expect(run.errorMessage == "cancelled by root during step transfer")
        #expect(eventually { livingProcesses(containing: marker).isEmpty })
        #expect(try control.ctl(["cancel", "1"]).status == 2, "a finished run cannot be cancelled")
        let jobs = try control.ctl(["jobs"])
        #expect(jobs.stdout.contains("long  manual"))
        #expect(jobs.stdout.contains("cancelled (run 1)"))
    }

    @Test func aDaemonThatRequiresReasonsRefusesRequestsWithout() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--require-reason"])
        defer { daemon.stop() }
        let without = try control.ctl(["run", "quick"])
        #expect(without.status == 2)
        #expect(without.stderr.contains("requires --reason"))
        #expect(try control.ctl(["run", "quick", "--reason", "ticket 42"]).status == 0)
        #expect(try control.ctl(["status"]).status == 0, "reading needs no reason")
        let audit = try control.ctl(["audit"])
        #expect(audit.stdout.contains("refused: no reason given"))
        #expect(audit.stdout.contains("ticket 42"))
    }

    @Test func aSocketDirectoryWritableByOthersIsRefused() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let open = scratch.root + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        chmod(open, 0o777)
        let daemon = try DaemonProcess(scratch, arguments: ["--socket", open + "/control.sock"])
        #expect(daemon.waitForExit(seconds: 10))
        #expect(daemon.process.terminationStatus == 1)
        #expect(daemon.log.contains("refusing to listen in \(open): it is writable by others"))
        #expect(daemon.log.contains("chmod o-w \(open)"))
    }
}
