import Foundation
import Testing
@testable import RenkeiStore

/// A private exim4 (Debian's `exim4-daemon-light`) that delivers every message, whoever it is
/// to, into one mbox file of the scratch directory: no system service, no network. `sendmail`
/// is the wrapper renkei.yaml names, as an MTA's own /usr/sbin/sendmail would be.
struct MailSink {
    let directory: String
    var mailbox: String { directory + "/mailbox" }
    var sendmail: String { directory + "/sendmail" }

    init(_ scratch: Scratch) throws {
        directory = scratch.root + "/mail"
        try FileManager.default.createDirectory(atPath: directory + "/spool", withIntermediateDirectories: true)
        // exim delivers as its own user (it never delivers as root).
        chmod(directory, 0o777)
        let config = """
            primary_hostname = renkei.test
            spool_directory = \(directory)/spool
            log_file_path = \(directory)/%slog
            keep_environment =
            exim_user = root
            exim_group = root
            trusted_users = root
            domainlist local_domains = *
            acl_not_smtp = accept_all
            begin acl
            accept_all:
              accept
            begin routers
            everything:
              driver = accept
              transport = mailbox
            begin transports
            mailbox:
              driver = appendfile
              file = \(directory)/mailbox
              user = Debian-exim
              group = Debian-exim
              mode = 0644

            """
        try config.write(toFile: directory + "/exim.conf", atomically: true, encoding: .utf8)
        try install(script: "#!/bin/sh\nexec /usr/sbin/exim -C \(directory)/exim.conf -odi \"$@\"\n")
    }

    /// Replaces the sendmail wrapper (a failing or hanging one, then the real one again).
    func install(script: String) throws {
        let temporary = sendmail + ".new"
        try script.write(toFile: temporary, atomically: false, encoding: .utf8)
        chmod(temporary, 0o755)
        rename(temporary, sendmail)
    }

    var realSendmail: String { "#!/bin/sh\nexec /usr/sbin/exim -C \(directory)/exim.conf -odi \"$@\"\n" }

    /// The raw mailbox, and each message in it parsed.
    var raw: String { (try? String(contentsOfFile: mailbox, encoding: .utf8)) ?? "" }
    var messages: [Mail] {
        raw.components(separatedBy: "\nFrom ").filter { !$0.isEmpty }.compactMap(Mail.init)
    }
}

/// One delivered message, read as MIME: headers (subject decoded from RFC 2047) and the body
/// decoded from base64.
struct Mail {
    var headers: [String: String] = [:]
    var subject: String
    var body: String

    init?(_ text: String) {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        guard let split = normalized.range(of: "\n\n") else { return nil }
        var unfolded: [String] = []
        for line in normalized[..<split.lowerBound].components(separatedBy: "\n").dropFirst() {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), !unfolded.isEmpty { unfolded[unfolded.count - 1] += line } else { unfolded.append(line) }
        }
        for line in unfolded {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        subject = Mail.decodeWords(headers["subject"] ?? "")
        let encoded = normalized[split.upperBound...].components(separatedBy: "\n").joined()
        guard headers["content-transfer-encoding"]?.lowercased() == "base64", let data = Data(base64Encoded: encoded) else { return nil }
        body = String(decoding: data, as: UTF8.self)
    }

    /// RFC 2047: `=?UTF-8?B?…?=` words, the white space between two words dropped.
    static func decodeWords(_ text: String) -> String {
        let pattern = try! NSRegularExpression(pattern: #"=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=\s*"#, options: [.caseInsensitive])
        var out = "", last = text.startIndex
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let whole = Range(match.range, in: text)!, payload = Range(match.range(at: 1), in: text)!
            out += text[last..<whole.lowerBound]
            out += String(decoding: Data(base64Encoded: String(text[payload])) ?? Data(), as: UTF8.self)
            last = whole.upperBound
        }
        return out + text[last...]
    }
}

private func notifications(_ scratch: Scratch, run: Int64) -> [RunStore.NotificationRow] {
    guard let store = try? RunStore.openForReading(at: scratch.state + "/renkei.db") else { return [] }
    return (try? store.notifications(runID: run)) ?? []
}

/// A job that fails (exit 3) until `fixed` exists, printing personal data and a secret on the way.
private func failingJob(_ scratch: Scratch, extra: String = "") -> String {
    """
    log_output: false
    environment: { DB_PASSWORD: s3cret-pw-4411, FLAG: \(scratch.root)/fixed }
    \(extra)steps:
      - name: export
        run: ["/bin/sh", "-c", "echo 'PERSONAL 山田太郎 1980-01-01'; echo \\"password $DB_PASSWORD\\" >&2; test -e \\"$FLAG\\" || exit 3"]
    """
}

@Suite(.serialized) struct NotificationTests {
    func configure(_ scratch: Scratch, _ text: String) throws -> String {
        let config = scratch.root + "/renkei.yaml"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    @Test func aFailureIsMailedOnceInJapaneseWithoutOutputOrSecretsAndItsRecoveryToo() throws {
        let scratch = try Scratch()
        let mail = try MailSink(scratch)
        let commandLog = scratch.root + "/page-ops.log"
        let pager = scratch.root + "/page-ops"
        try "#!/bin/sh\n{ env | grep '^RENKEI_' | sort; cat; } >> \(commandLog)\n".write(toFile: pager, atomically: true, encoding: .utf8)
        chmod(pager, 0o755)
        scratch.writeJob("nenkin", failingJob(scratch))
        let config = try configure(scratch, """
            notify:
              mail: { to: [joho-ops@city.example], from: renkei@city.example, sendmail: \(mail.sendmail) }
              command: ["\(pager)"]
              lang: ja
            """)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--config", config])
        defer { daemon.stop() }

        let run = try control.ctl(["run", "nenkin", "--wait"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(eventually(seconds: 20) { mail.messages.count == 1 }, "\(mail.raw)\n\(daemon.log)")
        let failure = try #require(mail.messages.first)
        #expect(failure.subject.hasPrefix("[renkei] 失敗 nenkin "), "\(failure.subject)")
        #expect(failure.headers["content-type"] == "text/plain; charset=UTF-8")
        #expect(failure.headers["to"] == "joho-ops@city.example")
        #expect(failure.body.contains("renkeictl show 1\n"), "\(failure.body)")
        #expect(failure.body.contains("renkeictl rerun 1 --reason \"...\""), "\(failure.body)")
        #expect(failure.body.contains("失敗ステップ: export"), "\(failure.body)")
        #expect(failure.body.contains("エラー分類: exit"), "\(failure.body)")
        for leak in ["山田太郎", "PERSONAL", "s3cret-pw-4411", "password"] {
            #expect(!mail.raw.contains(leak), "\(leak) reached the mailbox")
            #expect(!failure.body.contains(leak), "\(leak) is in the mail")
        }
        #expect(eventually(seconds: 20) { ((try? String(contentsOfFile: commandLog, encoding: .utf8)) ?? "").contains("\"event\":\"failed\"") })
        let paged = try String(contentsOfFile: commandLog, encoding: .utf8)
        #expect(paged.contains("RENKEI_JOB=nenkin\n") && paged.contains("RENKEI_RUN_ID=1\n") && paged.contains("RENKEI_NOTIFY_EVENT=failed\n"), "\(paged)")
        #expect(!paged.contains("s3cret-pw-4411") && !paged.contains("山田太郎"), "\(paged)")

        // A second failure of the same date is the same incident: no second mail.
        let again = try control.ctl(["rerun", "1", "--wait", "--reason", "try again"])
        #expect(again.status == 1)
        // The fix; the rerun that succeeds sends `recovered`.
        FileManager.default.createFile(atPath: scratch.root + "/fixed", contents: nil)
        let fixed = try control.ctl(["rerun", "2", "--wait", "--reason", "flag created"])
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        #expect(eventually(seconds: 20) { mail.messages.count == 2 }, "\(mail.raw)\n\(daemon.log)")
        #expect(mail.messages.count == 2)
        let recovered = try #require(mail.messages.last)
        #expect(recovered.subject.hasPrefix("[renkei] 回復 nenkin "), "\(recovered.subject)")
        #expect(recovered.body.contains("renkeictl show 3"), "\(recovered.body)")

        #expect(eventually(seconds: 10) { notifications(scratch, run: 1).count == 2 }, "\(notifications(scratch, run: 1))")
        let show = try control.ctl(["show", "1"])
        #expect(show.stdout.contains("notifications:"), "\(show.stdout)")
        #expect(show.stdout.contains("failed by mail to joho-ops@city.example: sent"), "\(show.stdout)")
        #expect(show.stdout.contains("failed by command to \(pager): sent"), "\(show.stdout)")
        let json = try control.ctl(["show", "1", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let told = try #require(object["notifications"] as? [[String: Any]])
        #expect(told.map { $0["channel"] as? String } == ["mail", "command"] || told.map { $0["channel"] as? String } == ["command", "mail"], "\(told)")
        #expect(told.allSatisfy { $0["result"] as? String == "ok" && $0["event"] as? String == "failed" })
        #expect(eventually(seconds: 10) { notifications(scratch, run: 3).map(\.event) == ["recovered", "recovered"] }, "\(notifications(scratch, run: 3))")
        #expect(daemon.log.contains("the failed notice about nenkin run 1 was sent by mail to joho-ops@city.example"), "\(daemon.log)")
    }

    /// renkeid restarted between a told failure and its fix: the store says the failure was told,
    /// so the success after the restart is still mailed as `recovered`.
    @Test func aRecoveryAfterARestartIsStillTold() throws {
        let scratch = try Scratch()
        let mail = try MailSink(scratch)
        scratch.writeJob("nenkin", failingJob(scratch))
        let config = try configure(scratch, """
            notify:
              mail: { to: [joho-ops@city.example], from: renkei@city.example, sendmail: \(mail.sendmail) }
            """)
        let control = Control(scratch: scratch)
        let first = try control.daemon(["--config", config])
        #expect(try control.ctl(["run", "nenkin", "--wait"]).status == 1)
        #expect(eventually(seconds: 20) { notifications(scratch, run: 1).map(\.result) == ["ok"] }, "\(mail.raw)\n\(first.log)")
        first.stop()

        let second = try control.daemon(["--config", config])
        defer { second.stop() }
        FileManager.default.createFile(atPath: scratch.root + "/fixed", contents: nil)
        let fixed = try control.ctl(["rerun", "1", "--wait", "--reason", "flag created"])
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        #expect(eventually(seconds: 20) { mail.messages.count == 2 }, "\(mail.raw)\n\(second.log)")
        #expect(mail.messages.last?.subject.hasPrefix("[renkei] RECOVERED nenkin ") == true, "\(mail.messages.map(\.subject))")
        #expect(notifications(scratch, run: 2).map(\.event) == ["recovered"])
    }

    @Test func aFailureThatARetryRecoversSendsNoMail() throws {
        let scratch = try Scratch()
        let mail = try MailSink(scratch)
        // Fails its first attempt only; retried after a second. Runs every 10 s.
        scratch.writeJob("flaky", """
            schedule: "*-*-* *:*:00/10"
            retry: { limit: 2, delay: 1s }
            environment: { FLAG: \(scratch.root)/once }
            steps:
              - name: export
                run: ["/bin/sh", "-c", "test -e \\"$FLAG\\" && exit 0; touch \\"$FLAG\\"; exit 1"]
            """)
        scratch.writeJob("broken", "steps:\n  - name: export\n    run: [\"/bin/false\"]\n")
        let config = try configure(scratch, "notify:\n  mail: { to: [joho-ops@city.example], from: renkei@city.example, sendmail: \(mail.sendmail) }\n")
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--config", config])
        defer { daemon.stop() }

        #expect(try eventually(seconds: 40) { try allRuns(scratch).contains { $0.job == "flaky" && $0.trigger == .retry && $0.state == .succeeded } }, "\(daemon.log)")
        let flaky = try allRuns(scratch).filter { $0.job == "flaky" }
        #expect(flaky.first?.state == .failed && flaky.first?.resolvedBy != nil)
        // A final failure after it: its mail is the only one.
        #expect(try control.ctl(["run", "broken", "--wait"]).status == 1)
        #expect(eventually(seconds: 20) { !mail.messages.isEmpty }, "\(daemon.log)")
        #expect(mail.messages.map(\.subject).allSatisfy { $0.contains(" broken ") }, "\(mail.messages.map(\.subject))")
        for run in flaky { #expect(notifications(scratch, run: run.id!).isEmpty) }
    }

    @Test func aReminderAtUnresolvedAtListsWhatIsStillUnresolved() throws {
        let scratch = try Scratch()
        let mail = try MailSink(scratch)
        scratch.writeJob("nenkin", failingJob(scratch))
        // A near time: 15 s from now, in the machine's zone (as renkeid reads unresolved_at).
        let format = DateFormatter()
        format.dateFormat = "HH:mm:ss"
        format.timeZone = TimeZone.current
        let soon = format.string(from: Date().addingTimeInterval(15))
        let config = try configure(scratch, """
            notify:
              mail: { to: [joho-ops@city.example], from: renkei@city.example, sendmail: \(mail.sendmail) }
              unresolved_at: ["\(soon)"]
            """)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--config", config])
        defer { daemon.stop() }
        #expect(try control.ctl(["run", "nenkin", "--wait"]).status == 1)
        #expect(eventually(seconds: 40) { mail.messages.count == 2 }, "\(mail.raw)\n\(daemon.log)")
        let reminder = try #require(mail.messages.last)
        #expect(reminder.subject.hasPrefix("[renkei] 1 failure(s) still unresolved on "), "\(reminder.subject)")
        #expect(reminder.body.contains("nenkin ") && reminder.body.contains("renkeictl rerun 1 --reason"), "\(reminder.body)")
        #expect(!reminder.body.contains("s3cret-pw-4411") && !reminder.body.contains("山田太郎"))
        // The row is written once sendmail has returned: a moment after the delivery.
        #expect(eventually(seconds: 10) { notifications(scratch, run: 1).map(\.event) == ["failed", "unresolved"] }, "\(notifications(scratch, run: 1))")
    }

    /// sendmail missing, failing, then hanging: the run ends as it would without notifications,
    /// each failure is logged, recorded and shown by status, and the send is tried again — and
    /// goes through once sendmail works.
    @Test(arguments: ["missing", "failing", "hanging"])
    func aBrokenSendmailNeverHoldsARunUpAndIsRetried(_ how: String) throws {
        let scratch = try Scratch()
        let mail = try MailSink(scratch)
        let marker = "renkei-hang-\(UUID().uuidString.prefix(8))"
        switch how {
        case "missing": unlink(mail.sendmail)
        case "failing": try mail.install(script: "#!/bin/sh\necho 'mail queue full' >&2\nexit 75\n")
        default: try mail.install(script: "#!/bin/sh\nexec /bin/sh -c 'sleep 600; : \(marker)'\n")
        }
        scratch.writeJob("nenkin", failingJob(scratch))
        let config = try configure(scratch, """
            notify:
              mail: { to: [joho-ops@city.example], from: renkei@city.example, sendmail: \(mail.sendmail) }
              timeout: 1s
              retry: { limit: 50, delay: 1s }
            """)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--config", config])
        defer { daemon.stop() }

        let run = try control.ctl(["run", "nenkin", "--wait"])
        #expect(run.status == 1, "the run fails as it would anyway: \(run.stdout)\(run.stderr)")
        let expected = switch how {
        case "missing": "\(mail.sendmail) does not exist"
        case "failing": "\(mail.sendmail) exited 75: mail queue full"
        default: "\(mail.sendmail) did not finish within 1s and was killed"
        }
        #expect(eventually(seconds: 30) { notifications(scratch, run: 1).filter { $0.result == "failed" }.count >= 2 }, "\(daemon.log)")
        let rows = notifications(scratch, run: 1)
        #expect(rows.first?.message == expected, "\(rows)")
        #expect(rows.map(\.attempt).prefix(2) == [1, 2], "tried again")
        #expect(daemon.log.contains("was not sent: \(expected); tried again at"), "\(daemon.log)")
        let status = try control.ctl(["status"])
        #expect(status.stdout.contains("notifications: failing since"), "\(status.stdout)")
        #expect(status.stdout.contains(expected), "\(status.stdout)")
        // Runs go on meanwhile.
        FileManager.default.createFile(atPath: scratch.root + "/fixed", contents: nil)
        #expect(try control.ctl(["run", "nenkin", "--wait", "--logical-time", "2026-11-30T06:30:00Z"]).status == 0)

        try mail.install(script: mail.realSendmail)
        #expect(eventually(seconds: 30) { mail.messages.contains { $0.body.contains("renkeictl show 1") } }, "\(daemon.log)")
        #expect(eventually(seconds: 10) { (try? control.ctl(["status"]).stdout.contains("notifications:")) == false })
        #expect(livingProcesses(containing: marker).isEmpty, "the hanging sendmail was killed with its children")
        let show = try control.ctl(["show", "1"])
        #expect(show.stdout.contains("FAILED: \(expected)") && show.stdout.contains(": sent"), "\(show.stdout)")
    }

    @Test func aBrokenNotifySectionIsNamedByCheckAndOnReloadThePreviousSettingsStay() throws {
        let scratch = try Scratch()
        let mail = try MailSink(scratch)
        scratch.writeJob("nenkin", failingJob(scratch))
        let good = "notify:\n  mail: { to: [joho-ops@city.example], from: renkei@city.example, sendmail: \(mail.sendmail) }\n"
        let config = try configure(scratch, good)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--config", config])
        defer { daemon.stop() }
        // The good file is read before it is broken (a loaded machine may start renkeid late).
        #expect(eventually(seconds: 20) { daemon.log.contains("renkeid ready") }, "\(daemon.log)")
        #expect(!daemon.log.contains("renkei.yaml has"), "\(daemon.log)")

        try (good + "  on: [failed, exploded]\n").write(toFile: config, atomically: true, encoding: .utf8)
        let check = try execute(renkeictl, ["check", "--jobs", scratch.jobs, "--config", config])
        #expect(check.status == 2)
        #expect(check.stderr.contains("\(config):3:16: error: 'notify.on' must be one of failed, late, upstream, deadline, storage, recovered, retry, found 'exploded'"), "\(check.stderr)")
        daemon.signal(SIGHUP)
        #expect(eventually(seconds: 20) { daemon.log.contains("renkeid keeps the settings it had") }, "\(daemon.log)")
        #expect(daemon.log.contains("\(config):3:16: error: 'notify.on' must be one of"), "\(daemon.log)")
        #expect(try control.ctl(["run", "nenkin", "--wait"]).status == 1)
        #expect(eventually(seconds: 20) { mail.messages.count == 1 }, "the settings in force still mail: \(daemon.log)")
    }
}
