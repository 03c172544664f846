import Foundation
import Testing
@testable import RenkeiCore
import RenkeiSystemd

/// What Renkei writes to a real journald — a private one, in its own mount namespace.
@Suite(.serialized) struct JournalTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let canRunJournald = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd-journald")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")

    /// Runs renkeid for `seconds` next to a private journald and returns every entry it wrote.
    static func journal(of scratch: Scratch, seconds: Int, filter: [String] = []) throws -> [[String: Any]] {
        let script = repository.appendingPathComponent("Tests/Support/with-private-journald.sh").path
        let run = try execute("/usr/bin/unshare", ["--mount", "--propagation=private", script, scratch.root,
                                                   "/usr/bin/timeout", "-s", "TERM", String(seconds), renkeid,
                                                   "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(run.status == 124 || run.status == 0, "renkeid under a private journald: \(run.stderr)")
        return try read(scratch, filter: filter)
    }

    static func read(_ scratch: Scratch, filter: [String] = []) throws -> [[String: Any]] {
        let result = try execute("/usr/bin/journalctl", ["--directory=\(scratch.root)/journal", "-o", "json", "--all", "--no-pager"] + filter)
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test(.enabled(if: canRunJournald, "needs root, unshare and systemd-journald"))
    func runEventsAndOutputAreStructuredEntries() throws {
        let scratch = try Scratch()
        scratch.writeJob("failing", """
            schedule: "*:*:0/2"
            retry: { limit: 1, delay: 1m }
            steps:
              - name: export
                run: ["/bin/sh", "-c", "echo line one; echo boom >&2; printf 'bad \\\\377\\\\376 bytes\\\\n'; head -c 40000 /dev/zero | tr '\\\\0' x; echo; exit 3"]
            """)
        scratch.writeJob("quiet", """
            schedule: "*:*:0/2"
            log_output: false
            steps:
              - name: export
                run: ["/bin/echo", "SECRET-RESIDENT-DATA"]
            """)
        let entries = try Self.journal(of: scratch, seconds: 5)
        func events(_ kind: EventKind) -> [[String: Any]] { entries.filter { $0["MESSAGE_ID"] as? String == kind.messageID } }

        let ready = try #require(events(.daemonReady).first)
        #expect(ready["SYSLOG_IDENTIFIER"] as? String == "renkeid")
        #expect(ready["PRIORITY"] as? String == "5")

        let started = try #require(events(.runStarted).first { $0["RENKEI_JOB"] as? String == "failing" })
        #expect(started["PRIORITY"] as? String == "6")
        #expect(started["RENKEI_TRIGGER"] as? String == "schedule")
        #expect(started["RENKEI_ATTEMPT"] as? String == "1")
        #expect(started["RENKEI_STATE"] as? String == "running")
        #expect((started["RENKEI_LOGICAL_TIME"] as? String)?.count == 25)
        #expect((started["CODE_FILE"] as? String)?.isEmpty == false)
        #expect(started["CODE_LINE"] != nil && started["CODE_FUNC"] != nil)

        let failed = try #require(events(.runFailed).first)
        let runID = try #require(failed["RENKEI_RUN_ID"] as? String)
        #expect(failed["PRIORITY"] as? String == "3")
        #expect(failed["RENKEI_ERROR_CLASS"] as? String == "exit")
        #expect(failed["RENKEI_EXIT_STATUS"] as? String == "3")
        #expect(failed["RENKEI_STEP"] as? String == "export")
        let message = try #require(failed["MESSAGE"] as? String)
        #expect(message.hasPrefix("failing run \(runID) failed in step export: exit status 3 (attempt 1 of 2, retry at "), "\(message)")
        #expect(events(.retryScheduled).contains { $0["RENKEI_JOB"] as? String == "failing" })

        // One job's whole story: its events and its output lines.
        let story = try Self.read(scratch, filter: ["RENKEI_JOB=failing"])
        #expect(story.contains { $0["MESSAGE_ID"] as? String == EventKind.runStarted.messageID })
        let output = story.filter { $0["SYSLOG_IDENTIFIER"] as? String == "failing" && $0["RENKEI_RUN_ID"] as? String == runID }
        let stdout = try #require(output.first { $0["MESSAGE"] as? String == "line one" })
        #expect(stdout["PRIORITY"] as? String == "6")
        #expect(stdout["RENKEI_STEP"] as? String == "export")
        let stderr = try #require(output.first { $0["MESSAGE"] as? String == "boom" })
        #expect(stderr["PRIORITY"] as? String == "4")
        // Invalid UTF-8 is kept as bytes (journalctl prints such a field as a list of numbers).
        let binary = try #require(output.first { $0["MESSAGE"] is [Any] })
        #expect((binary["MESSAGE"] as? [Int])?.contains(0xFF) == true)
        // A 40,000-byte line arrives in pieces of at most 16 KiB.
        let pieces: [Int] = output.compactMap { $0["MESSAGE"] as? String }.filter { $0.hasPrefix("xxxx") }.map { $0.utf8.count }
        #expect(pieces == [16_384, 16_384, 7_232])

        // log_output: false keeps a job's output out of the journal; its events are still there.
        #expect(!entries.contains { ($0["MESSAGE"] as? String)?.contains("SECRET-RESIDENT-DATA") == true })
        #expect(events(.runSucceeded).contains { $0["RENKEI_JOB"] as? String == "quiet" })
    }

    @Test(.enabled(if: canRunJournald, "needs root, unshare and systemd-journald"))
    func anInvalidJobFileIsAnEventWithItsPosition() throws {
        let scratch = try Scratch()
        let path = scratch.writeJob("broken", "timeuot: 5m\nsteps: []\n")
        let entries = try Self.journal(of: scratch, seconds: 1)
        let invalid = entries.filter { $0["MESSAGE_ID"] as? String == EventKind.jobFileInvalid.messageID }
        #expect(invalid.map { $0["MESSAGE"] as? String } == [
            "\(path):1:1: error: unknown key 'timeuot' in job (did you mean 'timeout'?); allowed keys: description, schedule, after, after_wait, trigger, timezone, closed_days, on_closed_day, catch_up, catch_up_window, overlap, timeout, kill_grace, log_output, retry, deadline, environment, steps, retention, notify",
            "\(path):2:8: error: 'steps' is empty: a job needs at least one step",
        ])
        #expect(invalid.first?["RENKEI_JOB"] as? String == "broken")
        #expect(invalid.first?["PRIORITY"] as? String == "3")
    }

    @Test func withoutAJournalEventsGoToStandardErrorOneLineEach() throws {
        let scratch = try Scratch()
        scratch.writeJob("failing", "schedule: \"*:*:0/2\"\nsteps:\n  - name: export\n    run: [\"/bin/sh\", \"-c\", \"echo out; exit 3\"]\n")
        let daemon = try DaemonProcess(scratch)
        #expect(eventually { daemon.log.contains("RENKEI_ERROR_CLASS=exit") })
        daemon.stop()
        let failure = try #require(daemon.log.split(separator: "\n").first { $0.contains("failed in step export") })
        #expect(failure.contains(" renkeid[\(daemon.process.processIdentifier)] error: failing run "))
        #expect(failure.contains("[RENKEI_JOB=failing RENKEI_RUN_ID="))
        #expect(failure.contains("RENKEI_EXIT_STATUS=3"))
        #expect(daemon.log.contains("failing[export]: out"))
    }

    @Test func theCatalogExplainsEveryEventInEnglishAndJapanese() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-catalog-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd/catalog", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/var/lib/systemd", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.repository.appendingPathComponent("Units/renkei.catalog").path, toPath: root + "/usr/lib/systemd/catalog/renkei.catalog")
        let update = try execute("/usr/bin/journalctl", ["--root=\(root)", "--update-catalog"])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stderr.isEmpty, "journalctl complained about the catalog: \(update.stderr)")
        let listed = try execute("/usr/bin/journalctl", ["--root=\(root)", "--list-catalog"]).stdout
        for kind in EventKind.allCases {
            #expect(listed.contains(kind.messageID + " renkei: "), "\(kind) has no catalog entry")
        }
        let text = try String(contentsOfFile: Self.repository.appendingPathComponent("Units/renkei.catalog").path, encoding: .utf8)
        for kind in EventKind.allCases {
            #expect(text.contains("-- \(kind.messageID) ja\n"), "\(kind) has no Japanese entry")
        }
        let database = try #require(FileManager.default.contents(atPath: root + "/var/lib/systemd/catalog/database"))
        #expect(database.range(of: Data("異常終了しました".utf8)) != nil, "the Japanese entries were loaded")
    }
}

@Suite struct OutputForwarderTests {
    @Test func aStuckJournalNeverBlocksTheJobsOutputAndDroppedLinesAreCounted() throws {
        let gate = DispatchSemaphore(value: 0)
        let delivered = Counter()
        let dropped = Counter()
        let forwarder = OutputForwarder(capacity: 1_000, deliver: { _ in
            gate.wait()          // journald is stuck until the test lets it go
            delivered.add(1)
        }, onDropped: { _, count in dropped.add(count) })
        // 100,000 lines while nothing is delivered: every enqueue returns (this test would hang otherwise).
        for index in 0..<100_000 {
            forwarder.enqueue(.init(fields: [Journal.Field("MESSAGE", "line \(index)")], key: "job run 1"))
        }
        #expect(forwarder.backlog <= 1_000)
        for _ in 0..<2_000 { gate.signal() }
        forwarder.flush(timeout: .seconds(20))
        #expect(dropped.value + delivered.value == 100_000, "every line was either sent or counted as dropped")
        #expect(dropped.value >= 98_000)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// renkeid runs a link's built-in steps (`renkeictl link-step` found beside it) and logs each file.
@Suite(.serialized) struct LinkStepJournalTests {
    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func theDaemonRunsLinkStepsAndLogsEachFile() throws {
        let scratch = try Scratch()
        let outbox = scratch.root + "/outbox", inbox = scratch.root + "/inbox"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: outbox + "/kokuho.csv", contents: Data("00123456,2026-12-01\n".utf8))
        scratch.writeJob("link", """
            schedule: "*:*:0/2"
            steps:
              - name: receive
                receive: { from: "\(outbox)", file: kokuho.csv, stable_for: 0s }
              - name: deliver
                deliver: { file: in/kokuho.csv, to: "\(inbox)", as: "koki.csv", if_exists: replace }
            """)
        let entries = try JournalTests.journal(of: scratch, seconds: 5)
        func events(_ kind: EventKind) -> [[String: Any]] { entries.filter { $0["MESSAGE_ID"] as? String == kind.messageID } }
        let received = try #require(events(.fileReceived).first)
        #expect(received["RENKEI_JOB"] as? String == "link")
        #expect(received["RENKEI_STEP"] as? String == "receive")
        #expect((received["RENKEI_FILE"] as? String)?.hasSuffix("/in/kokuho.csv") == true)
        #expect(received["RENKEI_BYTES"] as? String == "20")
        #expect(received["RENKEI_FILE_SHA256"] as? String == expectedSHA256)
        let delivered = try #require(events(.fileDelivered).first)
        #expect(delivered["RENKEI_FILE"] as? String == inbox + "/koki.csv")
        #expect(delivered["RENKEI_FILE_SHA256"] as? String == expectedSHA256)
        #expect(delivered["RENKEI_FILE_OUTCOME"] as? String == "delivered")
        #expect(events(.runSucceeded).contains { $0["RENKEI_JOB"] as? String == "link" })
        #expect(FileManager.default.contents(atPath: inbox + "/koki.csv") == Data("00123456,2026-12-01\n".utf8))
    }

    let expectedSHA256 = "0269213bb634a107d9ba7126c3e4e696abe36063424b3bb730533da5d44efd5f"
}

/// Under load, every run's "started" event reaches the journal before its end (the started event
/// once came from a Task of its own and could be lost or come second).
@Suite(.serialized) struct RunEventOrderTests {
    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func everyRunStartsBeforeItEndsInTheJournal() throws {
        let scratch = try Scratch()
        for index in 0..<100 {
            scratch.writeJob("load\(index)", "schedule: \"*:*:*\"\ncatch_up: none\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        }
        let entries = try JournalTests.journal(of: scratch, seconds: 16)
        var started: [String: Int] = [:]
        var ended: [String: Int] = [:]
        for (position, entry) in entries.enumerated() {
            guard let id = entry["RENKEI_RUN_ID"] as? String, let message = entry["MESSAGE_ID"] as? String else { continue }
            if message == EventKind.runStarted.messageID {
                #expect(started[id] == nil, "run \(id) started twice")
                started[id] = position
            } else if [EventKind.runSucceeded, .runFailed, .runTimedOut, .runInterrupted, .runCancelled].map(\.messageID).contains(message) {
                ended[id] = position
            }
        }
        #expect(ended.count >= 1_000, "only \(ended.count) runs ended in 16 s with 100 jobs due every second")
        for (id, end) in ended {
            let start = try #require(started[id], "run \(id) ended without a run-started event")
            #expect(start < end, "run \(id): its end came before its start")
        }
    }
}
