import Testing
@testable import RenkeiCore

/// Parses `text` as `Jobs/NAME.yaml` and returns the problems' descriptions.
private func problems(_ text: String, name: String = "juki-to-fukushi") -> [String] {
    problems(bytes: Array(text.utf8), name: name)
}

private func problems(bytes: [UInt8], name: String = "juki-to-fukushi") -> [String] {
    switch JobFileParser.parse(file: "Jobs/\(name).yaml", name: name, bytes: bytes) {
    case .success: return []
    case .failure(let failure): return failure.problems.map(\.description)
    }
}

private func job(_ text: String) throws -> Job {
    try JobFileParser.parse(file: "Jobs/j.yaml", name: "j", bytes: Array(text.utf8)).get()
}

private let minimalSteps = """
    steps:
      - name: export
        run: ["/bin/true"]
    """

@Suite struct JobFileParserTests {
    @Test func fullSpecExampleParsesIntoTheTypedModel() throws {
        let parsed = try job("""
            description: 住民記録の異動データを障害者福祉システムへ連携
            schedule: "Mon..Fri *-*-* 06:30"
            timezone: Asia/Tokyo
            closed_days: jp-municipal
            on_closed_day: before
            catch_up: all
            catch_up_window: 24h
            overlap: queue
            timeout: 30m
            kill_grace: 10s
            log_output: false
            retry: { limit: 3, delay: 1m, backoff: 2, max_delay: 15m }
            deadline: { start_by: "07:00", finish_by: "08:00" }
            environment: { TARGET_DIR: /srv/fukushi/inbox }
            steps:
              - name: export
                run: ["/usr/local/lib/renkei/juki-export", "--date", "${RENKEI_LOGICAL_DATE}"]
              - name: deliver
                run: ["/usr/local/lib/renkei/deliver", "--to", "${TARGET_DIR}"]
                timeout: 5m
            """)
        #expect(parsed.name.rawValue == "j")
        #expect(parsed.description == "住民記録の異動データを障害者福祉システムへ連携")
        #expect(parsed.schedule == "Mon..Fri *-*-* 06:30")
        #expect(parsed.timezone == "Asia/Tokyo")
        #expect(parsed.closedDays == ["jp-municipal"])
        #expect(parsed.onClosedDay == .before)
        #expect(parsed.catchUp == .all)
        #expect(parsed.catchUpWindow == JobDuration(seconds: 86_400))
        #expect(parsed.overlap == .queue)
        #expect(parsed.timeout == JobDuration(seconds: 1_800))
        #expect(parsed.killGrace == JobDuration(seconds: 10))
        #expect(parsed.logOutput == false)
        #expect(parsed.retry == RetryPolicy(limit: 3, delay: JobDuration(seconds: 60), backoff: 2, maxDelay: JobDuration(seconds: 900)))
        #expect(parsed.deadline?.startBy == TimeOfDay("07:00"))
        #expect(parsed.deadline?.finishBy == TimeOfDay("08:00"))
        #expect(parsed.environment == ["TARGET_DIR": "/srv/fukushi/inbox"])
        #expect(parsed.steps.map(\.name) == ["export", "deliver"])
        #expect(parsed.steps[1].command == .argv(["/usr/local/lib/renkei/deliver", "--to", "${TARGET_DIR}"]))
        #expect(parsed.steps[1].timeout == JobDuration(seconds: 300))
        #expect(parsed.definitionHash.count == 64)
    }

    @Test func defaultsApplyWhenKeysAreLeftOut() throws {
        let parsed = try job(minimalSteps)
        #expect(parsed.schedule == nil)
        #expect(parsed.catchUp == .latest)
        #expect(parsed.overlap == .skip)
        #expect(parsed.killGrace == JobDuration(seconds: 10))
        #expect(parsed.logOutput)
        #expect(parsed.timeout == nil)
    }

    @Test func unknownKeyNamesTheAllowedKeysAndTheLikelyTypo() {
        let found = problems("timeuot: 5m\n" + minimalSteps)
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("Jobs/juki-to-fukushi.yaml:1:1: error: unknown key 'timeuot' in job (did you mean 'timeout'?)"))
        #expect(found[0].contains("allowed keys: description, schedule"))
    }

    @Test func unknownKeyInsideAStep() {
        let found = problems("steps:\n  - name: a\n    run: [\"/bin/true\"]\n    shel: true\n")
        #expect(found == ["Jobs/juki-to-fukushi.yaml:4:5: error: unknown key 'shel' in step (did you mean 'shell'?); allowed keys: name, run, receive, deliver, check, convert, shell, timeout"])
    }

    @Test func duplicateKeyPointsAtTheSecondOne() {
        let found = problems("timeout: 5m\ntimeout: 10m\n" + minimalSteps)
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("Jobs/juki-to-fukushi.yaml:2:1: error: duplicate key 'timeout' (first on line 1)"))
    }

    @Test func wrongTypes() {
        let found = problems("""
            log_output: maybe
            retry: 3
            steps: "export"
            """)
        #expect(found == [
            "Jobs/juki-to-fukushi.yaml:1:13: error: 'log_output' must be true or false, found 'maybe'",
            "Jobs/juki-to-fukushi.yaml:2:8: error: 'retry' must be a mapping such as { limit: 3, delay: 1m, backoff: 2, max_delay: 15m }, found '3'",
            "Jobs/juki-to-fukushi.yaml:3:8: error: 'steps' must be a list of steps (each '- name: …' with 'run:'), found 'export'",
        ])
    }

    @Test func badDurations() {
        let found = problems("""
            timeout: 5 minutes
            kill_grace: -1m
            catch_up_window: 0s
            """ + "\n" + minimalSteps)
        #expect(found == [
            "Jobs/juki-to-fukushi.yaml:1:10: error: bad 'timeout': '5 minutes' is not a duration: write a number and a unit (s, m, h, d), such as 90s, 5m, 2h, 1d or 1h30m",
            "Jobs/juki-to-fukushi.yaml:2:13: error: bad 'kill_grace': '-1m' is negative: a duration cannot be negative",
            "Jobs/juki-to-fukushi.yaml:3:18: error: 'catch_up_window' is 0s, which makes no sense here: give a positive duration such as 30m, or leave the key out",
        ])
    }

    @Test func zeroTimeoutIsRefusedButZeroKillGraceIsAllowed() throws {
        #expect(problems("timeout: 0s\n" + minimalSteps).count == 1)
        #expect(try job("kill_grace: 0s\n" + minimalSteps).killGrace == .zero)
    }

    @Test func emptyAndMissingSteps() {
        #expect(problems("steps: []\n") == ["Jobs/juki-to-fukushi.yaml:1:8: error: 'steps' is empty: a job needs at least one step"])
        let missing = problems("description: nothing to do\n")
        #expect(missing.count == 1)
        #expect(missing[0].hasPrefix("Jobs/juki-to-fukushi.yaml:1:1: error: 'steps:' is missing"))
    }

    @Test func duplicateStepNames() {
        let found = problems("""
            steps:
              - name: export
                run: ["/bin/true"]
              - name: export
                run: ["/bin/false"]
            """)
        #expect(found == ["Jobs/juki-to-fukushi.yaml:4:11: error: duplicate step name 'export' (first used on line 2): step names must be unique so 'rerun --only' can name one"])
    }

    @Test func emptyRun() {
        #expect(problems("steps:\n  - name: a\n    run: []\n") == [
            "Jobs/juki-to-fukushi.yaml:3:10: error: 'run' is empty: give the program and its arguments, such as [\"/usr/bin/env\", \"true\"]",
        ])
        #expect(problems("steps:\n  - name: a\n    run: \"\"\n").count == 1)
    }

    @Test func runStringWithoutShellIsRefusedAndAcceptedWithIt() throws {
        let found = problems("steps:\n  - name: a\n    run: \"ls | wc -l\"\n")
        #expect(found.count == 1)
        #expect(found[0].contains("3:10: error: 'run' is a string, which would need a shell"))
        #expect(found[0].contains("add 'shell: true'"))
        let parsed = try job("steps:\n  - name: a\n    run: \"ls | wc -l\"\n    shell: true\n")
        #expect(parsed.steps[0].command == .shell("ls | wc -l"))
        #expect(parsed.steps[0].command.arguments == ["/bin/sh", "-c", "ls | wc -l"])
    }

    @Test func undefinedVariableIsReportedAtItsColumn() {
        let found = problems("""
            environment: { INBOX: /srv/inbox }
            steps:
              - name: deliver
                run: ["/bin/cp", "${INBOX}/a", "${OUTBOX}"]
            """)
        #expect(found == ["Jobs/juki-to-fukushi.yaml:4:37: error: in 'run': undefined variable ${OUTBOX}: define it under 'environment:' (only the run's environment is expanded, never the daemon's)"])
    }

    @Test func renkeiVariablesAreDefinedAndCannotBeOverridden() {
        #expect(problems("steps:\n  - name: a\n    run: [\"/bin/echo\", \"${RENKEI_LOGICAL_DATE}\", \"${RENKEI_RERUN_OF}\", \"${PATH}\"]\n").isEmpty)
        let found = problems("environment: { RENKEI_JOB: x }\n" + minimalSteps)
        #expect(found == ["Jobs/juki-to-fukushi.yaml:1:16: error: 'RENKEI_JOB' is set by Renkei for every run and cannot be set here"])
    }

    @Test func invalidUTF8PointsAtTheByte() {
        // "description: " then CP932 bytes for 住民 — a file saved in Shift_JIS by mistake.
        let bytes = Array("steps: []\ndescription: ".utf8) + [0x8F, 0x5A, 0x96, 0xAF] + Array("\n".utf8)
        let found = problems(bytes: bytes)
        #expect(found.count == 1)
        #expect(found[0].hasPrefix("Jobs/juki-to-fukushi.yaml:2:14: error: the file is not valid UTF-8 (byte 0x8F at offset 23)"))
        #expect(found[0].contains("iconv -f CP932 -t UTF-8"))
    }

    @Test func emptyFile() {
        #expect(problems("") == ["Jobs/juki-to-fukushi.yaml:1:1: error: the file is empty: a job needs at least 'steps:' with one step"])
        #expect(problems("  \n\n").count == 1)
        #expect(problems("# only a comment\n").first?.contains("no YAML document") == true)
    }

    @Test func fileNameMustBeAValidJobName() {
        let found = problems(minimalSteps, name: "juki to fukushi")
        #expect(found == ["Jobs/juki to fukushi.yaml:1:1: error: 'juki to fukushi' is not a valid job name (the file name without .yaml): a job name starts with a letter or digit and holds only letters, digits, '.', '_' and '-'; rename the file"])
        #expect(problems(minimalSteps, name: "-x").count == 1)
        #expect(problems(minimalSteps, name: "a.b_c-1").isEmpty)
    }

    @Test func unknownTimeZoneAndChoices() {
        let found = problems("timezone: Asia/Tokio\novertap: skip\noverlap: wait\n" + minimalSteps)
        #expect(found.count == 3)
        #expect(found[0] == "Jobs/juki-to-fukushi.yaml:1:11: error: unknown time zone 'Asia/Tokio': use an IANA name from the tz database, such as Asia/Tokyo or UTC")
        #expect(found[2] == "Jobs/juki-to-fukushi.yaml:3:10: error: 'overlap' must be one of skip, queue, found 'wait'")
    }

    @Test func yamlSyntaxErrorHasAPosition() {
        let found = problems("steps:\n  - name: a\n    run: [\"/bin/true\"\n")
        #expect(found.count == 1)
        #expect(found[0].contains("error: YAML syntax error"))
        #expect(!found[0].hasPrefix("Jobs/juki-to-fukushi.yaml:1:1:"))
    }

    @Test func allProblemsOfAFileInOnePass() {
        let found = problems("""
            timeuot: 5m
            timeout: 5 minutes
            steps:
              - name: a
                run: "echo hi"
            """)
        #expect(found.count == 3)
    }
}

@Suite struct JobFileScheduleTests {
    @Test func aBadScheduleIsReportedAtItsBadPart() {
        let found = problems("schedule: \"Mon..Fri *-*-* 25:30\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        #expect(found == ["Jobs/juki-to-fukushi.yaml:1:27: error: bad 'schedule': out of range: hour (0…23) (in \"Mon..Fri *-*-* 25:30\"; systemd calendar syntax as in 'man systemd.time', or 5-field cron)"])
        let cron = problems("schedule: 61 6 * * 1-5\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        #expect(cron.count == 1)
        #expect(cron.first?.hasPrefix("Jobs/juki-to-fukushi.yaml:1:11: error: bad 'schedule': minute field '61'") == true)
    }

    @Test func schedulesAreParsedIntoTheModel() throws {
        let parsed = try job("schedule: \"30 6 * * 1-5\"\ntimezone: Asia/Tokyo\nclosed_days: jp-municipal\non_closed_day: after\n" + minimalSteps)
        #expect(parsed.parsedSchedule?.normalizedForm == "Mon..Fri *-*-* 06:30:00")
        #expect(parsed.closedDayCalendar.jpMunicipal)
        let schedule = try #require(parsed.jobSchedule(machineZone: "UTC"))
        #expect(schedule.effectiveZone.identifier == "Asia/Tokyo")
        // Friday 2026-11-27 06:30 JST is the next run after Thursday noon UTC.
        #expect(schedule.nextSlot(after: utc(2026, 11, 26, 12))?.runAt == utc(2026, 11, 26, 21, 30))
    }

    @Test func closedDayFilesAreReadThroughTheLoader() {
        let reader: ClosedDayFileReader = { name in
            name == "maintenance.txt" ? .success([.init(year: 2026, month: 12, day: 28)]) : .failure(.unreadable("/etc/renkei/jobs/\(name)", "no such file"))
        }
        let text = "schedule: daily\nclosed_days: [jp-municipal, maintenance.txt, holidays]\n" + minimalSteps
        guard case .failure(let failure) = JobFileParser.parse(file: "j.yaml", name: "j", bytes: Array(text.utf8), readClosedDayFile: reader) else {
            Issue.record("a missing closed-day file was accepted")
            return
        }
        #expect(failure.problems.map(\.description) == ["j.yaml:2:46: error: closed_days 'holidays' is not a known calendar (jp-municipal) and cannot be read as a file of dates (/etc/renkei/jobs/holidays: no such file)"])
    }
}
