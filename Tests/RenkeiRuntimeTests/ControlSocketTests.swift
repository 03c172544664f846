import Foundation
import Testing

/// The control socket under clients that misbehave, against the real renkeid: who is refused
/// before a byte is read, how long a request may take, how many connections a uid may hold,
/// and what the audit keeps of requests that could not be served. Deadlines are renkeid's:
/// 10 s for a request, 64 connections, 8 per uid, the last 8 for root and operators.
@Suite(.serialized) struct ControlSocketTests {
    @Test(.enabled(if: getuid() == 0, "needs root to create test users"))
    func aNonOperatorIsRefusedBeforeSendingAnythingAndAudited() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let users = try TestUsers(operators: 0, outsiders: 1)
        defer { users.remove() }
        let outsider = users.outsiders[0]
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--operators-group", users.group])
        defer { daemon.stop() }
        chmod(control.socket, 0o666)  // only renkeid stands in the way

        // Connects and never writes: the answer comes anyway, long before the request deadline.
        let clients = try SocketClients(control, as: outsider, count: 1, everySeconds: 0)
        let answers = clients.answers()
        let answer = try #require(answers.first)
        #expect(answer.seconds < 8, "refused at connect, not at the 10 s deadline: \(answer)")
        #expect(answer.exitStatus == 4)
        #expect(answer.message.hasPrefix("permission denied: \(outsider) is not root, renkeid's user (root) or a member of the operators' group '\(users.group)'"))
        #expect(answer.message.contains("usermod -aG \(users.group) \(outsider)"))

        // renkeictl, which sends its request at once, still reads the refusal (not "unreachable").
        for _ in 0..<5 {
            let refused = try control.ctl(["run", "quick", "--reason", "let me"], as: outsider)
            #expect(refused.status == 4, "\(refused.stderr)")
            #expect(refused.stderr.contains("usermod -aG \(users.group) \(outsider)"))
        }
        #expect(try allRuns(scratch).isEmpty)

        let rows = try auditRows(control)
        #expect(rows.count == 6)
        let first = try #require(rows.first)
        #expect(try first.uid == users.uid(of: outsider))
        #expect(first.user == outsider)
        #expect(first.pid == Int(clients.pid), "the pid the kernel reported for the connecting process")
        #expect(first.request == "(not read: refused at connect)")
        #expect(first.result == "refused: not an operator")
        #expect(rows.allSatisfy { $0.user == outsider && $0.request == "(not read: refused at connect)" })
        #expect(try control.ctl(["audit", "--verify"]).status == 0)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to create test users"))
    func slowClientsDoNotLockOperatorsOut() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let users = try TestUsers(operators: 2, outsiders: 1)
        defer { users.remove() }
        let (busyOperator, otherOperator, outsider) = (users.operators[0], users.operators[1], users.outsiders[0])
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--operators-group", users.group])
        defer { daemon.stop() }
        chmod(control.socket, 0o666)

        // 64 clients trickle a request one byte every 2 s: 48 as root (no per-uid cap), 16 as one
        // operator (8 held, 8 over its cap). 56 held fill every connection not kept for operators.
        let rootClients = try SocketClients(control, as: nil, count: 48, everySeconds: 2)
        let operatorClients = try SocketClients(control, as: busyOperator, count: 16, everySeconds: 2)
        let outsiderStatus = try control.ctl(["status"], as: outsider)
        #expect(outsiderStatus.status == 3, "no room left but the operators': \(outsiderStatus.stderr)")
        #expect(outsiderStatus.stderr.contains("kept for root and operators"))
        let operatorStatus = try control.ctl(["status"], as: otherOperator)
        #expect(operatorStatus.status == 0, "an operator gets a reserved connection: \(operatorStatus.stderr)")
        let rootStatus = try control.ctl(["status"])
        #expect(rootStatus.status == 0, "\(rootStatus.stderr)")
        let statusesDone = Date()

        // The trickling clients are cut off at the total deadline, though each sent a byte every 2 s
        // (and only then: the statuses above were answered while they held their connections).
        let rootAnswers = rootClients.answers()
        #expect(rootAnswers.count == 48)
        #expect(rootAnswers.allSatisfy { $0.answered > statusesDone }, "\(rootAnswers.map(\.answered).min().map { "\($0)" } ?? "none") vs \(statusesDone)")
        for answer in rootAnswers {
            #expect(answer.seconds > 9 && answer.seconds < 20, "\(answer)")
            #expect(answer.exitStatus == 2)
            #expect(answer.message.contains("no whole request within 10 s of connecting"), "\(answer)")
        }
        let operatorAnswers = operatorClients.answers()
        let overCap = operatorAnswers.filter { $0.message.contains("already has 8 connections open") }
        #expect(overCap.count == 8, "\(operatorAnswers)")
        #expect(overCap.allSatisfy { $0.exitStatus == 3 && $0.seconds < 8 })
        let held = operatorAnswers.filter { $0.message.contains("no whole request within 10 s") }
        #expect(held.count == 8)
        #expect(held.allSatisfy { $0.answered > statusesDone })

        // Each cut-off request is audited with what had arrived; the busy ones were never read.
        let rows = try auditRows(control)
        #expect(rows.count == 56)
        for row in rows {
            #expect(row.result.hasPrefix("refused: incomplete request: no newline within 10 s of connecting ("), "\(row)")
            #expect(#"{"version":1,"operation":"cancel","run":1}"#.hasPrefix(row.request) && row.request.count >= 4, "\(row)")
        }
        #expect(rows.filter { $0.user == busyOperator }.count == 8)
        #expect(try control.ctl(["status"]).status == 0)
        #expect(try control.ctl(["audit", "--verify"]).status == 0)
    }

    @Test func everyRequestThatCannotBeServedIsAuditedWithWhatWasSent() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        let cases: [(sent: [UInt8], endWriting: Bool, answer: String, request: String, result: String)] = [
            (Array("{not json \u{1B}[31m 住民 \u{202E}\n".utf8), false, "malformed request",
             #"{not json \u{1B}[31m 住民 \u{202E}"#, "refused: undecodable request: not JSON"),
            (Array(#"{"version":2,"operation":"run","job":"quick"}"#.utf8) + [0x0A], false, "protocol version 2 is not 1",
             #"{"version":2,"operation":"run","job":"quick"}"#, "refused: protocol version 2 (this renkeid speaks 1)"),
            (Array(#"{"version":2,"operation":"status"}"#.utf8) + [0x0A], false, "protocol version 2 is not 1",
             #"{"version":2,"operation":"status"}"#, "refused: protocol version 2 (this renkeid speaks 1)"),
            (Array(#"{"version":1,"operation":"purge-everything"}"#.utf8) + [0x0A], false, "unknown operation",
             #"{"version":1,"operation":"purge-everything"}"#, #"refused: unknown operation "purge-everything""#),
            (Array(#"{"version":1,"operation":"run","job":"quick","run":"seven"}"#.utf8) + [0x0A], false, "malformed request",
             #"{"version":1,"operation":"run","job":"quick","run":"seven"}"#, #"refused: undecodable request: "run" is not a number"#),
            (Array(#"{"version":1,"operation":"cancel","reason":"oops"}"#.utf8) + [0x0A], false, "cancel: which run?",
             #"{"version":1,"operation":"cancel","reason":"oops"}"#, "refused: no run id"),
            (Array("{\"version\":1,\"operation\":\"run\",\"job\":\"quick\"\r".utf8), true, "closed before the end of the request line",
             #"{"version":1,"operation":"run","job":"quick"\r"#,
             "refused: incomplete request: the client closed the connection before a newline (45 bytes read)"),
            ([UInt8](repeating: 0xFF, count: 600) + [0x0A], false, "malformed request",
             String(repeating: #"\x{FF}"#, count: 85) + "… (600 bytes)", "refused: undecodable request: not JSON"),
            // Reading only: answered, and no row.
            (Array(#"{"version":1,"operation":"status"}"#.utf8) + [0x0A], false, "is running", "", ""),
            (Array(#"{"version":1,"operation":"jobs"}"#.utf8) + [0x0A], false, "1 jobs", "", ""),
            (Array(#"{"version":1,"operation":"rerun-failed"}"#.utf8) + [0x0A], false, "no unresolved failures", "", ""),
        ]
        for (sent, endWriting, answer, _, _) in cases {
            let reply = exchange(control.socket, sent, endWriting: endWriting)
            #expect(reply.contains(answer), "sent \(String(decoding: sent, as: UTF8.self).debugDescription), got \(reply)")
        }
        let rows = try auditRows(control)
        let expected = cases.filter { !$0.request.isEmpty }
        #expect(rows.map(\.request) == expected.map(\.request))
        #expect(rows.map(\.result) == expected.map(\.result))
        #expect(rows.first { $0.result == "refused: no run id" }?.reason == "oops", "a decoded request keeps its reason")
        #expect(rows.allSatisfy { $0.user == "root" && $0.uid == 0 })
        let verify = try control.ctl(["audit", "--verify"])
        #expect(verify.status == 0)
        #expect(verify.stdout == "audit log intact: \(expected.count) rows, hash chain verified\n")
        #expect(try control.ctl(["audit"]).status == 0, "the table shows rows whose request is not JSON")
    }

    @Test func aSilentClientIsCutOffAtTheDeadlineWhileOthersAreAnswered() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        let silent = try SocketClients(control, as: nil, count: 1, everySeconds: 0)
        for _ in 0..<3 {
            let status = try control.ctl(["status"])
            #expect(status.status == 0, "\(status.stderr)")
        }
        #expect(try control.ctl(["run", "quick", "--reason", "meanwhile"]).status == 0)
        let answer = try #require(silent.answers().first)
        #expect(answer.seconds > 9 && answer.seconds < 20, "cut off at the 10 s deadline: \(answer)")
        #expect(answer.exitStatus == 2)
        #expect(answer.message.contains("no whole request within 10 s of connecting"))
        #expect(try auditRows(control).map(\.result) == ["accepted"], "a connection that sent nothing asked nothing")
        #expect(daemon.log.contains("connected and sent nothing; closed"))
        #expect(try control.ctl(["status"]).status == 0)
        #expect(daemon.process.isRunning)
    }
}

// MARK: - Helpers

/// A group of operators and some users outside it, made with groupadd/useradd and removed after.
struct TestUsers {
    let group: String
    let operators: [String]
    let outsiders: [String]

    init(operators: Int, outsiders: Int) throws {
        let suffix = String(UUID().uuidString.prefix(6)).lowercased()
        group = "rk-ops-\(suffix)"
        self.operators = (0..<operators).map { "rk-op\($0)-\(suffix)" }
        self.outsiders = (0..<outsiders).map { "rk-out\($0)-\(suffix)" }
        _ = try execute("/usr/sbin/groupadd", [group])
        for user in self.operators { _ = try execute("/usr/sbin/useradd", ["-M", "-G", group, user]) }
        for user in self.outsiders { _ = try execute("/usr/sbin/useradd", ["-M", user]) }
    }

    func uid(of user: String) throws -> Int {
        try #require(Int(try execute("/usr/bin/id", ["-u", user]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func remove() {
        for user in operators + outsiders { _ = try? execute("/usr/sbin/userdel", [user]) }
        _ = try? execute("/usr/sbin/groupdel", [group])
    }
}

/// `count` connections from one process (perl, run as `user`), each sending a request one byte
/// every `everySeconds` (0: never a byte) until renkeid answers; reports, per connection, when
/// the answer came and what it was.
final class SocketClients {
    struct Answer: CustomStringConvertible {
        /// When the connection was made, and when its answer came.
        let connected: Date, answered: Date
        let exitStatus: Int
        let message: String
        var seconds: Double { answered.timeIntervalSince(connected) }
        var description: String { String(format: "after %.1f s: %d %@", seconds, exitStatus, message) }
    }

    private let process = Process()
    private let output = Pipe()
    var pid: Int32 { process.processIdentifier }

    private static let script = #"""
        use strict; use warnings;
        use IO::Socket::UNIX; use IO::Select; use Socket; use Time::HiRes qw(time);
        $SIG{PIPE} = 'IGNORE'; $| = 1;
        my ($path, $count, $every, $ready) = @ARGV;
        my $text = '{"version":1,"operation":"cancel","run":1}' . "\n";
        my (@open, %start, %sent);
        for (1 .. $count) {
            my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "connect: $!\n";
            push @open, $s; $start{$s} = time; $sent{$s} = 0;
        }
        open(my $mark, '>', $ready) or die "$ready: $!\n"; close $mark;
        my $select = IO::Select->new(@open);
        my $next = $every > 0 ? time : 9**9**9;
        my $end = time + 60;
        while ($select->count && time < $end) {
            if (time >= $next) {
                syswrite($_, substr($text, $sent{$_}++, 1)) for $select->handles;
                $next += $every;
            }
            for my $s ($select->can_read(0.05)) {
                my $answer = '';
                while (sysread($s, my $chunk, 65536)) { $answer .= $chunk; last if $answer =~ /\n/; }
                $answer =~ s/\n.*//s;
                printf "%.3f %.3f %s\n", $start{$s}, time, $answer;
                $select->remove($s); close $s;
            }
        }
        """#

    /// Starts the clients and returns once all are connected.
    init(_ control: Control, as user: String?, count: Int, everySeconds: Double) throws {
        let marks = control.scratch.root + "/marks"
        try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        chmod(marks, 0o1777)
        let ready = marks + "/" + UUID().uuidString
        let perl = ["/usr/bin/perl", "-e", Self.script, control.socket, String(count), String(everySeconds), ready]
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(user)", "--regid=\(user)", "--init-groups"] + perl
        } else {
            process.executableURL = URL(fileURLWithPath: perl[0])
            process.arguments = Array(perl.dropFirst())
        }
        process.standardOutput = output
        try process.run()
        guard eventually(seconds: 10, { FileManager.default.fileExists(atPath: ready) }) else {
            process.terminate()
            throw POSIXError(.ETIMEDOUT)
        }
    }

    /// Waits for every connection's answer (or the clients' 60 s limit).
    func answers() -> [Answer] {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            let times = parts.prefix(2).map { Date(timeIntervalSince1970: Double($0) ?? 0) }
            guard parts.count == 3, let object = try? JSONSerialization.jsonObject(with: Data(parts[2].utf8)) as? [String: Any] else {
                return Answer(connected: times.first ?? .distantPast, answered: times.last ?? .distantPast, exitStatus: -1, message: String(line))
            }
            return Answer(connected: times[0], answered: times[1], exitStatus: object["exitStatus"] as? Int ?? -1,
                          message: object["message"] as? String ?? "")
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

struct AuditRow: CustomStringConvertible {
    let uid: Int, user: String, pid: Int, request: String, reason: String?, result: String
    var description: String { "\(user) (uid \(uid), pid \(pid)) \(request.debugDescription) → \(result)" }
}

/// The audit as `renkeictl audit --json` prints it, oldest first.
func auditRows(_ control: Control) throws -> [AuditRow] {
    let printed = try control.ctl(["audit", "--json"])
    guard printed.stdout.hasPrefix("[") else { return [] }
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [[String: Any]])
    return rows.map {
        AuditRow(uid: $0["uid"] as? Int ?? -1, user: $0["user"] as? String ?? "", pid: $0["pid"] as? Int ?? -1,
                 request: $0["request"] as? String ?? "", reason: $0["reason"] as? String, result: $0["result"] as? String ?? "")
    }
}

/// Sends `bytes` (then, with `endWriting`, closes the sending side) and returns the answer line.
func exchange(_ path: String, _ bytes: [UInt8], endWriting: Bool) -> String {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in Array(path.utf8).enumerated() { raw[i] = b } }
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    if endWriting { shutdown(descriptor, Int32(SHUT_WR)) }
    var timeout = timeval(tv_sec: 20, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !answer.contains(0x0A) {
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { break }
        answer += buffer[0..<count]
    }
    return String(decoding: answer, as: UTF8.self)
}
