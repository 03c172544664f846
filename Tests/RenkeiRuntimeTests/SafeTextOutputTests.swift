import Foundation
import Testing
@testable import RenkeiControl
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// Text an attacker or a careless operator typed (a reason with ESC, CR and newlines), or a step
/// printed, reaches the operator's terminal and spreadsheet as text to read, never as commands.
@Suite(.serialized) struct SafeTextOutputTests {
    /// ESC sequence (clear screen), a CR that would overwrite the line with a forged one, LF, NUL,
    /// DEL and the C1 CSI U+009B.
    static let hostile = "ok\u{1B}[2J\rforged 1 root accepted\nline2\u{0}nul\u{7F}del\u{9B}31m"
    static let shown = "ok\\e[2J\\rforged 1 root accepted\\nline2\\0nul\\x7fdel\\u{9b}31m"
    /// The store keeps text columns up to a NUL (SQLite text); what is shown of them.
    static let shownStored = "ok\\e[2J\\rforged 1 root accepted\\nline2"

    static let base: Int64 = 1_795_000_000 - 1_795_000_000 % 86_400

    /// A resolved failure whose rerun carries the hostile reason, an unresolved one whose error
    /// and output carry it, and an audit row with it, all through the store's own API.
    static func fill(_ scratch: Scratch, reason: String = hostile) async throws -> (failed: Int64, rerun: Int64) {
        let store = try StateDirectory(scratch.state).openStoreForWriting()
        let job = Job(name: JobName("juki-to-fukushi")!, steps: [Step(name: "deliver", command: .argv(["/bin/true"]))], definitionHash: "h")
        func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
        let logical = LogicalTime(epochSeconds: base + 86_400 + 6 * 3600, zoneIdentifier: "Asia/Tokyo")
        let failedRun = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .schedule), owner: .current, at: date(logical.epochSeconds))
        _ = try await store.start(runID: failedRun.id!, environment: [:], workDirectory: "/w", at: date(logical.epochSeconds))
        try await store.finish(runID: failedRun.id!, outcome: RunOutcome(state: .failed, errorClass: .exit, message: "step deliver: " + reason, failedStep: "deliver", exitStatus: 2),
                               at: date(logical.epochSeconds + 60))
        let rerun = try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .rerun, requestedByUser: "tanaka", reason: reason, rerunOf: failedRun.id!),
                                            owner: .current, at: date(logical.epochSeconds + 3600))
        _ = try await store.start(runID: rerun.id!, environment: [:], workDirectory: "/w", at: date(logical.epochSeconds + 3600))
        try await store.stepStarted(runID: rerun.id!, position: 0, command: ["/bin/echo", reason], at: date(logical.epochSeconds + 3600))
        var out = OutputTail()
        out.append(Array(("before\n" + reason + "\n").utf8))
        try await store.stepFinished(runID: rerun.id!, position: 0, end: StepEnd(termination: .exited(0), finishedAt: date(logical.epochSeconds + 3660),
                                                                                   stdoutTail: out, stderrTail: OutputTail()))
        try await store.finish(runID: rerun.id!, outcome: .succeeded, at: date(logical.epochSeconds + 3660))
        // A second, unresolved failure on the next day, with the hostile text as its error.
        let next = LogicalTime(epochSeconds: base + 2 * 86_400 + 6 * 3600, zoneIdentifier: "Asia/Tokyo")
        let open = try await store.enqueue(NewRun(job: job, logicalTime: next, trigger: .schedule), owner: .current, at: date(next.epochSeconds))
        _ = try await store.start(runID: open.id!, environment: [:], workDirectory: "/w", at: date(next.epochSeconds))
        try await store.finish(runID: open.id!, outcome: RunOutcome(state: .failed, errorClass: .exit, message: reason, failedStep: "deliver", exitStatus: 2),
                               at: date(next.epochSeconds + 60))
        try await store.appendAudit(AuditEntry(uid: 1000, user: "tanaka", pid: 42, request: #"{"operation":"rerun","run":1}"#, reason: reason, result: "accepted"),
                                    runID: rerun.id!)
        return (failedRun.id!, rerun.id!)
    }

    static func ctl(_ scratch: Scratch, _ arguments: [String]) throws -> Finished {
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "Asia/Tokyo"
        environment["LANG"] = "C.UTF-8"
        return try execute(renkeictl, arguments + ["--state", scratch.state], environment: environment)
    }

    static func report(_ scratch: Scratch, _ extra: [String]) throws -> Finished {
        let since = LogicalTime(epochSeconds: base, zoneIdentifier: "Asia/Tokyo").iso8601
        let until = LogicalTime(epochSeconds: base + 10 * 86_400, zoneIdentifier: "Asia/Tokyo").iso8601
        return try ctl(scratch, ["report", "--jobs", scratch.jobs, "--since", since, "--until", until] + extra)
    }

    /// No raw control character but the line ends themselves.
    static func expectNoControls(_ text: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let raw = text.unicodeScalars.filter { $0 != "\n" && ($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) }
        #expect(raw.isEmpty, "\(what) printed raw control characters: \(raw.map { String($0.value, radix: 16) })", sourceLocation: sourceLocation)
    }

    @Test func showAuditHistoryAndTheTextReportShowControlCharactersVisibly() async throws {
        let scratch = try Scratch()
        let (failed, rerun) = try await Self.fill(scratch)

        let show = try Self.ctl(scratch, ["show", String(rerun)])
        #expect(show.status == 0, "\(show.stderr)")
        Self.expectNoControls(show.stdout, "show")
        #expect(show.stdout.contains("  reason        " + Self.shownStored + "\n"), "\(show.stdout)")
        // The output tail is split into its lines at LF; each is shown with its controls visible.
        #expect(show.stdout.contains("       | ok\\e[2J\\rforged 1 root accepted\n       | line2\\0nul\\x7fdel\\u{9b}31m\n"), "\(show.stdout)")
        #expect(show.stdout.contains("     $ /bin/echo '" + Self.shown + "'\n"), "\(show.stdout)")
        #expect(!show.stdout.contains("\nforged"), "a CR or LF in the reason starts no line of its own")
        let showFailed = try Self.ctl(scratch, ["show", String(failed)])
        Self.expectNoControls(showFailed.stdout, "show of the failure")
        #expect(showFailed.stdout.contains("[exit] step deliver: " + Self.shownStored + "\n"))

        let audit = try Self.ctl(scratch, ["audit"])
        #expect(audit.status == 0, "\(audit.stderr)")
        Self.expectNoControls(audit.stdout, "audit")
        #expect(audit.stdout.split(separator: "\n").count == 2, "a header and one row: \(audit.stdout)")
        #expect(audit.stdout.hasSuffix(Self.shownStored + "\n"))
        // JSON stays JSON: the reason comes back exactly as stored.
        let auditJSON = try Self.ctl(scratch, ["audit", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(auditJSON.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["reason"] as? String == String(Self.hostile.prefix { $0 != "\u{0}" }))

        let history = try Self.ctl(scratch, ["history"])
        #expect(history.status == 0)
        Self.expectNoControls(history.stdout, "history")
        #expect(history.stdout.split(separator: "\n").count == 4, "a header and three runs: \(history.stdout)")

        for lang in ["en", "ja"] {
            let text = try Self.report(scratch, ["--lang", lang])
            #expect(text.status == 0, "\(text.stderr)")
            Self.expectNoControls(text.stdout, "text report (\(lang))")
            #expect(text.stdout.contains("\\e[2J\\rforged"), "\(text.stdout)")
            for line in text.stdout.split(separator: "\n") {
                #expect(ReportFormats.width(String(line)) <= 80, "too wide: \(line)")
            }
        }
    }

    @Test func theCSVReportKeepsTheReasonAsDataAndDefusesFormulas() async throws {
        for (reason, cell) in [("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"), ("+1+1", "'+1+1"), ("-2", "'-2"),
                               ("@SUM(A1)", "'@SUM(A1)"), ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"), ("ticket 7", "ticket 7")] {
            let scratch = try Scratch()
            _ = try await Self.fill(scratch, reason: reason)
            let csv = try Self.report(scratch, ["--format", "csv", "--lang", "en"])
            #expect(csv.status == 0, "\(csv.stderr)")
            let rows = ReportTests.parseCSV(csv.stdout)
            let header = try #require(rows.first)
            let reasonColumn = try #require(header.firstIndex(of: "Reason"))
            let resolved = try #require(rows.first { $0.first == "resolved" })
            #expect(resolved[reasonColumn] == cell, "\(reason.debugDescription) → \(resolved[reasonColumn].debugDescription)")
            #expect(rows.allSatisfy { row in row.allSatisfy { $0.first.map { !"=+-@".contains($0) } ?? true } }, "no cell starts a formula")
        }
        // The control characters of the hostile reason stay data (CSV carries text as it is), quoted.
        let scratch = try Scratch()
        _ = try await Self.fill(scratch)
        let rows = ReportTests.parseCSV(try Self.report(scratch, ["--format", "csv", "--lang", "en"]).stdout)
        let reasonColumn = try #require(rows.first?.firstIndex(of: "Reason"))
        #expect(rows.first { $0.first == "resolved" }?[reasonColumn] == String(Self.hostile.prefix { $0 != "\u{0}" }),
                "quoted, CR and all, exactly as stored (the store keeps text up to a NUL)")
    }

    @Test func aRealisticTextReportFitsEightyColumns() async throws {
        let scratch = try Scratch()
        // Long, ordinary reasons and errors, a long job name, Asia/Tokyo: the widest header.
        _ = try await Self.fill(scratch, reason: "ticket 4411: the welfare section's import server was down for maintenance until 07:10; file sent again after the restart, checked by tanaka and suzuki")
        for lang in ["en", "ja"] {
            let text = try Self.report(scratch, ["--lang", lang])
            #expect(text.status == 0)
            #expect(text.stdout.contains("(Asia/Tokyo)"))
            let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count > 15)
            for line in lines {
                #expect(ReportFormats.width(String(line)) <= 80, "too wide (\(ReportFormats.width(String(line)))): \(line)")
            }
            #expect(text.stdout.contains("restart, checked by tanaka and suzuki"), "a long reason wraps, nothing is lost")
        }
    }

    @Test func aReasonOver4KiBIsRefusedOnEveryLocalPath() async throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let long = String(repeating: "x", count: 5 * 1024)
        let runResult = try execute(renkeictl, ["run", "quick", "--local", "--jobs", scratch.jobs, "--state", scratch.state, "--reason", long])
        #expect(runResult.status == 2, "\(runResult.stderr)")
        #expect(runResult.stderr.contains("the reason is 5120 bytes; at most 4096 are accepted"), "\(runResult.stderr)")
        let ranBefore = FileManager.default.fileExists(atPath: scratch.state + "/renkei.db") ? try allRuns(scratch).count : 0
        #expect(ranBefore == 0, "nothing ran")
        let ok = try execute(renkeictl, ["run", "quick", "--local", "--jobs", scratch.jobs, "--state", scratch.state, "--reason", String(repeating: "x", count: 4096)])
        #expect(ok.status == 0, "exactly 4 KiB is accepted: \(ok.stderr)")
        for arguments in [["rerun", "1", "--local"], ["rerun", "1"], ["run", "quick"], ["cancel", "1"], ["hold", "quick"], ["release", "quick"]] {
            let refused = try execute(renkeictl, arguments + ["--jobs", scratch.jobs, "--state", scratch.state, "--socket", scratch.root + "/none.sock", "--reason", long])
            #expect(refused.status == 2, "\(arguments): \(refused.stderr)")
            #expect(refused.stderr.contains("at most 4096"), "\(arguments): \(refused.stderr)")
        }
        #expect(try allRuns(scratch).count == 1)
    }

    @Test func renkeidRefusesAReasonOver4KiBAndAuditsWhy() async throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        // renkeictl refuses before sending; an older or other client may not.
        let request = ControlRequest(operation: .run, job: "quick", reason: String(repeating: "y", count: 5 * 1024))
        let reply = exchange(control.socket, Array(try ControlProtocol.encode(request)), endWriting: true)
        #expect(reply.contains("the reason is 5120 bytes; at most 4096 are accepted"), "\(reply)")
        let response = try JSONDecoder().decode(ControlResponse.self, from: Data(reply.utf8))
        #expect(response.exitStatus == 2)
        #expect(try allRuns(scratch).isEmpty)
        let rows = try auditRows(control)
        #expect(rows.map(\.result) == ["refused: the reason is 5120 bytes; at most 4096 are accepted"])
        #expect(try control.ctl(["audit", "--verify"]).status == 0)
    }

    /// An operator's run is never retried, so its journal lines say "attempt 1" and why nothing
    /// follows; the console log shows the step's control characters instead of obeying them.
    @Test func aManualRunIsAttemptOneAndItsConsoleLinesAreSafe() throws {
        let scratch = try Scratch()
        scratch.writeJob("failing", """
            retry: { limit: 2, delay: 1m }
            steps:
              - name: export
                run: ["/bin/sh", "-c", 'printf "hello\\033[2J\\rforged\\n"; exit 3']
            """)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        let result = try control.ctl(["run", "failing", "--reason", "test", "--wait"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(eventually { daemon.log.contains("failed in step export") })
        daemon.stop()
        let log = daemon.log
        let started = try #require(log.split(separator: "\n").first { $0.contains("failing run 1 started") })
        #expect(started.contains("(manual, attempt 1, asked by "), "\(started)")
        let failure = try #require(log.split(separator: "\n").first { $0.contains("failed in step export") })
        #expect(failure.contains("(attempt 1, manual runs are not retried: see renkeictl show 1"), "\(failure)")
        #expect(!failure.contains(" of 3") && !failure.contains("no retry left"))
        #expect(log.contains("failing[export]: hello\\e[2J\\rforged"), "\(log)")
        Self.expectNoControls(log, "the console log")
        #expect(try allRuns(scratch).count == 1, "not retried")
    }
}
