import Foundation
import Testing
@testable import RenkeiCore

private let job = JobName("juki-to-fukushi")!
private let t0 = Instant(secondsSinceEpoch: 1_796_000_000)

private func facts(_ run: Int64, _ state: RunState, date: String = "2026-12-01", errorClass: ErrorClass? = .exit, attempt: Int = 1,
                   willRetry: Bool = false, message: String? = "exit status 3") -> NoticeRun {
    NoticeRun(job: job, run: RunID(rawValue: run), logicalTime: date + "T06:30:00+09:00", logicalDate: date, state: state,
             errorClass: state == .succeeded ? nil : errorClass, errorMessage: state == .succeeded ? nil : message, failedStep: "export",
             attempt: attempt, trigger: attempt > 1 ? .retry : .schedule, since: "2026-12-01T06:31:00+09:00", willRetry: willRetry)
}

private func configured(_ settings: NotifySettings = NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host")),
                        jobs: [JobName: JobNotify] = [:], now: Instant = t0, zone: String = "Asia/Tokyo") -> Notifications {
    var notifications = Notifications()
    notifications.configure(settings, jobs: jobs, zones: [job: zone], machineZone: zone, now: now)
    return notifications
}

@Suite struct NotificationsTests {
    @Test func aFinalFailureIsToldOnceThenNotAgainForTheSameDate() {
        var n = configured()
        let first = n.runEnded(facts(10, .failed))
        #expect(first.count == 1)
        #expect(first.first?.channel == .mail(to: ["ops@city.example"]))
        #expect(first.first?.event == "failed")
        #expect(n.runEnded(facts(11, .failed)).isEmpty, "a rerun that fails again is the same incident")
        #expect(n.runEnded(facts(12, .failed, date: "2026-12-02")).count == 1, "another date is another incident")
    }

    @Test func afterARestartTheStoresToldFailureIsRemindedAndRecoveredAndAnUntoldOneStaysUntold() {
        var n = configured(NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host"), unresolvedAt: [TimeOfDay("09:00")!]))
        n.unresolvedInStore([(facts(10, .failed), true), (facts(20, .failed, date: "2026-12-02"), false)])
        #expect(n.incidents.count == 2)
        // The reminder at 09:00 (Asia/Tokyo) lists the told one (as for failures of this process).
        let reminders = n.due(now: t0 + .seconds(86_400))
        guard case .reminder(let open) = reminders.first?.subject else { Issue.record("no reminder: \(reminders)"); return }
        #expect(open.map(\.run) == [RunID(rawValue: 10)])
        // A success for the told date is `recovered`; for the untold one, nothing.
        #expect(n.runEnded(facts(11, .succeeded)).map(\.event) == ["recovered"])
        #expect(n.runEnded(facts(21, .succeeded, date: "2026-12-02")).isEmpty)
    }

    @Test func aFailureAnOperatorResolvedIsDroppedWhenTheStoreNoLongerHoldsIt() {
        var n = configured()
        _ = n.runEnded(facts(10, .failed))
        _ = n.runEnded(facts(30, .failed, date: "2026-12-03", willRetry: true))
        n.unresolvedInStore([])   // rerun --from-next resolved run 10; run 30 awaits its retry
        #expect(n.incidents.keys.map(\.date) == ["2026-12-03"], "the retry's incident is this process's own")
        #expect(n.runEnded(facts(11, .succeeded)).isEmpty, "nothing left to recover")
    }

    @Test func aFailureThatARetryRecoversSendsNothing() {
        var n = configured()
        #expect(n.runEnded(facts(10, .failed, willRetry: true)).isEmpty)
        #expect(n.runEnded(facts(11, .succeeded, attempt: 2)).isEmpty)
        #expect(n.incidents.isEmpty)
    }

    @Test func aRetryIsToldOnlyWhenAskedForAndThenItsRecoveryToo() {
        var settings = NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host"))
        settings.on.insert(.retry)
        var n = configured(settings)
        #expect(n.runEnded(facts(10, .failed, willRetry: true)).map(\.event) == ["retry"])
        #expect(n.runEnded(facts(11, .failed, attempt: 2)).isEmpty, "the incident was told already")
        #expect(n.runEnded(facts(12, .succeeded, attempt: 3)).map(\.event) == ["recovered"])
    }

    @Test func aRecoveryAfterAToldFailureIsToldWithWhenItBegan() throws {
        var n = configured()
        _ = n.runEnded(facts(10, .failed))
        var success = facts(13, .succeeded)
        success.since = "2026-12-01T09:10:00+09:00"
        let notices = n.runEnded(success)
        #expect(notices.map(\.event) == ["recovered"])
        guard case .run(.recovered, let told) = try #require(notices.first).subject else { Issue.record("not a recovery"); return }
        #expect(told.since == "2026-12-01T06:31:00+09:00")
        #expect(n.runEnded(facts(14, .succeeded)).isEmpty, "told once")
    }

    @Test func classesAreToldAsTheirEventsAndAJobsOnReplacesTheSitesList() {
        var n = configured(jobs: [job: JobNotify(to: ["fukushi@city.example"], on: [.late])])
        #expect(n.runEnded(facts(10, .failed, errorClass: .exit)).isEmpty, "the job asked for late only")
        let late = n.runEnded(facts(11, .failed, date: "2026-12-02", errorClass: .late))
        #expect(late.map(\.event) == ["late"])
        #expect(late.first?.channel == .mail(to: ["ops@city.example", "fukushi@city.example"]))
    }

    @Test func mailAndCommandAreOneNoticeEach() {
        var n = configured(NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host"), command: ["/usr/local/libexec/page-ops"]))
        let notices = n.runEnded(facts(10, .failed))
        #expect(notices.map(\.channel) == [.mail(to: ["ops@city.example"]), .command])
        #expect(Set(notices.map(\.id)).count == 2)
    }

    @Test func nothingIsToldWithoutNotifySettings() {
        var n = Notifications()
        #expect(n.runEnded(facts(10, .failed)).isEmpty)
        #expect(n.storageLost(StorageProblem("disk full", summary: "disk full"), now: t0).isEmpty)
    }

    @Test func aReminderAtUnresolvedAtListsTheToldFailuresStillOpen() throws {
        // 2026-12-01 08:00 in Tokyo.
        let morning = Instant(secondsSinceEpoch: 1_796_079_600)
        var settings = NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host"))
        settings.unresolvedAt = [TimeOfDay("09:00")!, TimeOfDay("13:00")!]
        var n = configured(settings, now: morning)
        let nine = Instant(secondsSinceEpoch: 1_796_083_200)
        #expect(n.nextReminder == nine)
        _ = n.runEnded(facts(10, .failed))
        _ = n.runEnded(facts(20, .failed, date: "2026-11-30", willRetry: true))
        #expect(n.due(now: nine - .seconds(1)).isEmpty)
        let reminders = n.due(now: nine)
        #expect(reminders.count == 1)
        guard case .reminder(let open) = try #require(reminders.first).subject else { Issue.record("not a reminder"); return }
        #expect(open.map(\.run) == [RunID(rawValue: 10)], "a failure whose retry is still to come is not unresolved yet")
        #expect(n.nextReminder == nine + .seconds(4 * 3600))
        _ = n.runEnded(facts(11, .succeeded))
        #expect(n.due(now: nine + .seconds(4 * 3600)).isEmpty, "nothing is left unresolved: no reminder")
        #expect(n.nextReminder == nine + .seconds(24 * 3600))
    }

    @Test func aFailedSendIsTriedAgainWithBackoffAndTheFailureIsVisibleUntilOneSucceeds() throws {
        var settings = NotifySettings(mail: MailSettings(to: ["ops@city.example"], from: "renkei@host"))
        settings.retry = RetryPolicy(limit: 2, delay: JobDuration(seconds: 60), backoff: 2)
        var n = configured(settings)
        let notice = try #require(n.runEnded(facts(10, .failed)).first)
        #expect(n.sendEnded(id: notice.id, failure: "/usr/sbin/sendmail exited 75", now: t0) == .willRetry(at: t0 + .seconds(60)))
        #expect(n.failing?.message == "/usr/sbin/sendmail exited 75")
        #expect(n.waitingCount == 1)
        #expect(n.nextWakeUp() == t0 + .seconds(60))
        #expect(n.due(now: t0 + .seconds(59)).isEmpty)
        let again = try #require(n.due(now: t0 + .seconds(60)).first)
        #expect(again.id == notice.id && again.attempt == 2)
        #expect(n.sendEnded(id: again.id, failure: "timed out", now: t0 + .seconds(61)) == .willRetry(at: t0 + .seconds(181)))
        let third = try #require(n.due(now: t0 + .seconds(181)).first)
        #expect(n.sendEnded(id: third.id, failure: "timed out", now: t0 + .seconds(182)) == .willRetry(at: nil), "limit 2: three tries in all")
        #expect(n.failing == nil && n.waitingCount == 0)

        let next = try #require(n.runEnded(facts(30, .failed, date: "2026-12-03")).first)
        _ = n.sendEnded(id: next.id, failure: "exit 1", now: t0)
        let retried = try #require(n.due(now: t0 + .seconds(60)).first)
        #expect(n.sendEnded(id: retried.id, failure: nil, now: t0 + .seconds(60)) == .sent)
        #expect(n.failing == nil)
    }
}

@Suite struct NoticeTextTests {
    @Test func aFailureMailSaysWhatWhereSinceTheErrorAndTheCommands() {
        let text = NoticeText(.run(.failed, facts(412, .failed, message: "exit status 3\u{1b}[2J")), lang: .en, host: "renkei1")
        #expect(text.subject == "[renkei] FAILED juki-to-fukushi 2026-12-01 on renkei1")
        #expect(text.body.contains("renkeictl show 412\n"))
        #expect(text.body.contains("renkeictl rerun 412 --reason \"...\""))
        #expect(text.body.contains("error: exit status 3\\e[2J"), "the error line goes through SafeText")
        #expect(text.body.contains("failed step: export"))
        #expect(text.body.contains("since: 2026-12-01T06:31:00+09:00"))
    }

    @Test func japaneseSubjectAndBody() {
        let text = NoticeText(.run(.failed, facts(412, .failed)), lang: .ja, host: "renkei1")
        #expect(text.subject == "[renkei] 失敗 juki-to-fukushi 2026-12-01（renkei1）")
        #expect(text.body.contains("エラー: exit status 3"))
    }

    @Test func theMailIsMIMEWithAnEncodedWordSubjectAndABase64Body() throws {
        let mail = MailMessage(from: "renkei@host", to: ["a@city.example", "b@city.example"], subject: "[renkei] 失敗 住民記録連携 2026-12-01",
                               body: "本文 ✓\n", date: Instant(secondsSinceEpoch: 1_796_150_000), messageID: "<x@host>")
        let text = mail.text
        let (head, body) = try #require(text.split(separator: "\r\n\r\n", maxSplits: 1).map(String.init).pairs)
        #expect(head.contains("Content-Type: text/plain; charset=UTF-8\r\n"))
        #expect(head.contains("Content-Transfer-Encoding: base64\r\n"))
        #expect(head.contains("MIME-Version: 1.0\r\n"))
        #expect(head.contains("To: a@city.example, b@city.example\r\n"))
        #expect(head.contains("Date: Tue, 01 Dec 2026 18:33:20 +0000\r\n"))
        let subjectLines = head.components(separatedBy: "\r\n").drop { !$0.hasPrefix("Subject: ") }.prefix { $0.hasPrefix("Subject: ") || $0.hasPrefix(" ") }
        #expect(subjectLines.allSatisfy { $0.count <= 78 && $0.allSatisfy(\.isASCII) })
        let decoded = subjectLines.map { $0.replacingOccurrences(of: "Subject: ", with: "").trimmingCharacters(in: .whitespaces) }
            .map { word -> String in
                #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
                return String(decoding: Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))!, as: UTF8.self)
            }.joined()
        #expect(decoded == "[renkei] 失敗 住民記録連携 2026-12-01")
        #expect(String(decoding: Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))!, as: UTF8.self) == "本文 ✓\n")
    }

    @Test func base64MatchesFoundations() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(MailMessage.base64(bytes) == Data(bytes).base64EncodedString())
        }
    }
}

private extension Array where Element == String {
    var pairs: (String, String)? { count == 2 ? (self[0], self[1]) : nil }
}

@Suite struct NotifyParsingTests {
    private func site(_ text: String) -> Result<SiteConfiguration, JobFileFailure> {
        SiteConfigurationParser.parse(file: "/etc/renkei/renkei.yaml", bytes: Array(text.utf8))
    }

    @Test func theIssuesExampleIsRead() throws {
        let text = """
            notify:
              mail: { to: [joho-ops@city.example], from: renkei@host, sendmail: /usr/sbin/sendmail }
              command: ["/usr/local/libexec/page-ops"]
              on: [failed, late, upstream, deadline, storage, recovered]
              unresolved_at: ["09:00", "13:00"]
              lang: ja
            """
        let notify = try #require(try site(text).get().notify)
        #expect(notify.mail == MailSettings(to: ["joho-ops@city.example"], from: "renkei@host", sendmail: "/usr/sbin/sendmail"))
        #expect(notify.command == ["/usr/local/libexec/page-ops"])
        #expect(notify.on == NotifySettings.defaultEvents)
        #expect(notify.unresolvedAt == [TimeOfDay("09:00")!, TimeOfDay("13:00")!])
        #expect(notify.lang == .ja)
        #expect(notify.timeout == NotifySettings.defaultTimeout)
    }

    @Test func mistakesAreReportedAtTheirLineAndColumn() {
        let text = """
            notify:
              mail: { to: ["ops@city.example, boss@city.example"], from: renkei@host, sendmail: sendmail }
              on: [failed, exploded]
              unresolved_at: ["9am"]
              lang: fr
            """
        guard case .failure(let failure) = site(text) else { Issue.record("accepted"); return }
        #expect(failure.problems.map(\.description) == [
            "/etc/renkei/renkei.yaml:2:16: error: 'notify.mail.to' has 'ops@city.example, boss@city.example', which is not a mail address such as joho-ops@city.example (no spaces, commas or angle brackets)",
            "/etc/renkei/renkei.yaml:2:85: error: 'notify.mail.sendmail' must be an absolute path such as /usr/sbin/sendmail; found 'sendmail'",
            "/etc/renkei/renkei.yaml:3:16: error: 'notify.on' must be one of failed, late, upstream, deadline, storage, recovered, retry, found 'exploded'",
            "/etc/renkei/renkei.yaml:4:19: error: 'notify.unresolved_at' must be a local time \"HH:MM\" such as \"07:00\" (quote it), found '9am'",
            "/etc/renkei/renkei.yaml:5:9: error: 'notify.lang' must be one of en, ja, found 'fr'",
        ])
    }

    @Test func aBadNotifyRetryIsNamedAsNotifyRetry() {
        let text = "notify:\n  command: [\"/bin/true\"]\n  retry: { limit: 500, backoff: 0.5 }\n"
        guard case .failure(let failure) = site(text) else { Issue.record("accepted"); return }
        #expect(failure.problems.map(\.description) == [
            "/etc/renkei/renkei.yaml:3:19: error: 'notify.retry.limit' is 500: give the number of retries after the first failure, 0 to 100",
            "/etc/renkei/renkei.yaml:3:33: error: 'notify.retry.backoff' is 0.5: each wait is the previous one times this, so give a number from 1 to 100",
        ])
    }

    @Test func notifyWithoutMailOrCommandIsAMistake() {
        guard case .failure(let failure) = site("notify:\n  on: [failed]\n") else { Issue.record("accepted"); return }
        #expect(failure.problems.first?.description.hasPrefix("/etc/renkei/renkei.yaml:2:3: error: 'notify' needs 'mail:' or 'command:'") == true)
    }

    @Test func aJobsNotifyKeyIsReadAndCheckedWithItsPosition() throws {
        let good = "schedule: daily\nnotify: { to: [fukushi@city.example], on: [failed, recovered] }\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n"
        let job = try JobFileParser.parse(file: "/etc/renkei/jobs/j.yaml", name: "j", bytes: Array(good.utf8)).get()
        #expect(job.notify == JobNotify(to: ["fukushi@city.example"], on: [.failed, .recovered]))
        let bad = "schedule: daily\nnotify: { to: [\"<x>\"], when: [failed] }\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n"
        guard case .failure(let failure) = JobFileParser.parse(file: "/etc/renkei/jobs/j.yaml", name: "j", bytes: Array(bad.utf8)) else { Issue.record("accepted"); return }
        #expect(failure.problems.map(\.description) == [
            "/etc/renkei/jobs/j.yaml:2:16: error: 'notify.to' has '<x>', which is not a mail address such as joho-ops@city.example (no spaces, commas or angle brackets)",
            "/etc/renkei/jobs/j.yaml:2:24: error: unknown key 'when' in notify; allowed keys: to, on",
        ])
    }
}
