import Testing
@testable import RenkeiCore

private let steps = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n"

private func parse(_ text: String, name: String = "link") -> Result<Job, JobFileFailure> {
    JobFileParser.parse(file: "Jobs/\(name).yaml", name: name, bytes: Array(text.utf8))
}

private func problems(_ text: String) -> [String] {
    switch parse(text) {
    case .success: return []
    case .failure(let failure): return failure.problems.map(\.description)
    }
}

private func name(_ text: String) -> JobName { JobName(text)! }

/// A job parsed from `Jobs/NAME.yaml`, with its file, as the loader hands it to `Dependencies`.
private func loaded(_ jobName: String, _ text: String) throws -> (job: Job, file: String) {
    (try parse(text + steps, name: jobName).get(), "Jobs/\(jobName).yaml")
}

/// `after:` and `after_wait:` as a job file writes them, and every mistake where it is.
@Suite struct AfterParsingTests {
    @Test func afterKeepsTheNamesInOrderWithTheirPositions() throws {
        let job = try parse("after: [juki-export, kokuho-shikaku-copy]\nafter_wait: 2h\n" + steps).get()
        #expect(job.after == [name("juki-export"), name("kokuho-shikaku-copy")])
        #expect(job.afterWait == JobDuration(seconds: 7_200))
        #expect(job.positions.after == [name("juki-export"): SourcePosition(line: 1, column: 9), name("kokuho-shikaku-copy"): SourcePosition(line: 1, column: 22)])
        let block = try parse("description: x\nafter:\n  - juki-export\n  - \"kokuho\"\n" + steps).get()
        #expect(block.positions.after == [name("juki-export"): SourcePosition(line: 3, column: 5), name("kokuho"): SourcePosition(line: 4, column: 5)])
    }

    @Test func oneNameMayBeWrittenAsAString() throws {
        let job = try parse("after: juki-export\n" + steps).get()
        #expect(job.after == [name("juki-export")])
        #expect(job.positions.after[name("juki-export")] == SourcePosition(line: 1, column: 8))
    }

    @Test func withoutAfterTheDefaultsAreNoUpstreamsAndSixHours() throws {
        let job = try parse(steps).get()
        #expect(job.after.isEmpty)
        #expect(job.afterWait == JobDuration(seconds: 21_600))
        #expect(job.trigger == nil)
        #expect(try parse("after: [a]\n" + steps).get().afterWait == Job.defaultAfterWait)
    }

    @Test func badAfterValues() {
        #expect(problems("after: { job: a }\n" + steps)
            == ["Jobs/link.yaml:1:8: error: 'after' must be a list of job names such as [juki-export, kokuho-shikaku-copy], found a mapping"])
        #expect(problems("after: []\n" + steps)
            == ["Jobs/link.yaml:1:8: error: 'after' is empty: name the jobs this one waits for, such as [juki-export], or leave the key out"])
        #expect(problems("after:\n" + steps)
            == ["Jobs/link.yaml:1:7: error: 'after' is empty: name the jobs this one waits for, such as [juki-export], or leave the key out"])
        #expect(problems("after: [a, [b]]\n" + steps)
            == ["Jobs/link.yaml:1:12: error: each element of 'after' must be a job name, found a list"])
        #expect(problems("after: [a, \"b c\"]\n" + steps)
            == ["Jobs/link.yaml:1:12: error: 'b c' in 'after' is not a job name: a job name starts with a letter or digit and holds only letters, digits, '.', '_' and '-' (the job file's name without .yaml)"])
        #expect(problems("after: [juki-export.yaml]\n" + steps)
            == ["Jobs/link.yaml:1:9: error: 'juki-export.yaml' in 'after' is a file name: name the job, juki-export"])
    }

    @Test func aDuplicateIsReportedWhereItIsRepeated() {
        #expect(problems("after:\n  - juki-export\n  - kokuho\n  - juki-export\n" + steps)
            == ["Jobs/link.yaml:4:5: error: duplicate 'juki-export' in 'after' (first at line 2, column 5): name each upstream once"])
        #expect(problems("after: [a, b, a]\n" + steps)
            == ["Jobs/link.yaml:1:15: error: duplicate 'a' in 'after' (first at line 1, column 9): name each upstream once"])
    }

    @Test func afterWaitUsesTheDurationSyntaxAndGoesWithAfter() {
        #expect(problems("after: [a]\nafter_wait: 2 hours\n" + steps)
            == ["Jobs/link.yaml:2:13: error: bad 'after_wait': '2 hours' is not a duration: write a number and a unit (s, m, h, d), such as 90s, 5m, 2h, 1d or 1h30m"])
        #expect(problems("after: [a]\nafter_wait: 0s\n" + steps)
            == ["Jobs/link.yaml:2:13: error: 'after_wait' is 0s, which makes no sense here: give a positive duration such as 30m, or leave the key out"])
        #expect(problems("after_wait: 2h\n" + steps)
            == ["Jobs/link.yaml:1:13: error: 'after_wait' goes with 'after:' (how long a slot waits for the jobs named there): add 'after:' or remove it"])
        #expect((try? parse("after: [a]\nafter_wait: 1h30m\n" + steps).get().afterWait) == JobDuration(seconds: 5_400))
    }

    @Test func theNewKeysAreAllowedKeysAndTakePartInTheDefinitionHash() throws {
        let found = problems("aftr: [a]\n" + steps)
        #expect(found == ["Jobs/link.yaml:1:1: error: unknown key 'aftr' in job (did you mean 'after'?); allowed keys: description, schedule, after, after_wait, trigger, timezone, closed_days, on_closed_day, catch_up, catch_up_window, overlap, timeout, kill_grace, log_output, retry, deadline, environment, steps, retention, notify"])
        let one = try parse("after: [a]\n" + steps).get().definitionHash
        let other = try parse("after: [b]\n" + steps).get().definitionHash
        let waited = try parse("after: [a]\nafter_wait: 1h\n" + steps).get().definitionHash
        let triggered = try parse("trigger: { path: /srv/in, file: \"*.csv\" }\n" + steps).get().definitionHash
        #expect(Set([one, other, waited, triggered]).count == 4)
    }
}

/// `trigger:`, read as `receive:` is.
@Suite struct TriggerParsingTests {
    @Test func aFullTriggerParsesIntoTheModel() throws {
        let job = try parse("""
            trigger:
              path: /srv/kokuho/outbox
              file: "shikaku_*.csv"
              date_from_name: "shikaku_{date:%Y%m%d}.csv"
              complete_when: done_file
              done_file: "shikaku_{date:%Y%m%d}.done"
            """ + "\n" + steps).get()
        #expect(job.trigger == FileTrigger(path: "/srv/kokuho/outbox", file: "shikaku_*.csv", dateFromName: "shikaku_{date:%Y%m%d}.csv",
                                           completeWhen: .doneFile("shikaku_{date:%Y%m%d}.done")))
        #expect(job.positions.triggerPath == SourcePosition(line: 2, column: 9))
        #expect(job.schedule == nil && job.after.isEmpty)
    }

    @Test func completionDefaultsAsInReceive() throws {
        let stable = try parse("trigger: { path: /srv/in, file: \"*.csv\" }\n" + steps).get()
        #expect(stable.trigger == FileTrigger(path: "/srv/in", file: "*.csv", completeWhen: .stable(JobDuration(seconds: 10))))
        let longer = try parse("trigger: { path: /srv/in, file: \"*.csv\", stable_for: 1m }\n" + steps).get()
        #expect(longer.trigger?.completeWhen == .stable(JobDuration(seconds: 60)))
        let done = try parse("trigger: { path: /srv/in, file: \"*.csv\", done_file: \"*.end\" }\n" + steps).get()
        #expect(done.trigger?.completeWhen == .doneFile("*.end"))
    }

    @Test func scheduleAfterAndTriggerMayGoTogether() throws {
        let job = try parse("schedule: \"*-*-* 06:30\"\nafter: [juki-export]\ntrigger: { path: /srv/in, file: a.csv }\n" + steps).get()
        #expect(job.parsedSchedule != nil)
        #expect(job.after == [name("juki-export")])
        #expect(job.trigger?.file == "a.csv")
    }

    @Test func unknownAndMissingKeys() {
        #expect(problems("trigger: { path: /srv/in, file: a.csv, wait_until: \"07:00\" }\n" + steps)
            == ["Jobs/link.yaml:1:40: error: unknown key 'wait_until' in trigger; allowed keys: path, file, date_from_name, complete_when, done_file, stable_for"])
        #expect(problems("trigger: { file: a.csv }\n" + steps)
            == ["Jobs/link.yaml:1:10: error: 'trigger' needs 'path:', the directory watched, such as /srv/kokuho/outbox"])
        #expect(problems("trigger: { path: /srv/in }\n" + steps)
            == ["Jobs/link.yaml:1:10: error: 'trigger' needs 'file:', which names start the job, such as \"shikaku_*.csv\""])
        #expect(problems("trigger: /srv/in\n" + steps)
            == ["Jobs/link.yaml:1:10: error: 'trigger' must be a mapping such as { path: /srv/kokuho/outbox, file: \"shikaku_*.csv\" }, found '/srv/in'"])
    }

    @Test func thePathIsOneAbsoluteDirectoryWrittenOut() {
        #expect(problems("trigger: { path: outbox, file: a.csv }\n" + steps)
            == ["Jobs/link.yaml:1:18: error: 'trigger.path' is 'outbox': give the directory as an absolute path, such as /srv/kokuho/outbox (it is watched before any run exists, so there is no work directory to be relative to)"])
        #expect(problems("trigger: { path: \"${IN}/outbox\", file: a.csv }\n" + steps)
            == ["Jobs/link.yaml:1:18: error: 'trigger.path' cannot use ${VAR}, {date:…} or {time:…}: it is watched before any run exists, so write the directory itself, such as /srv/kokuho/outbox"])
        #expect(problems("trigger: { path: /srv/*/outbox, file: a.csv }\n" + steps)
            == ["Jobs/link.yaml:1:18: error: 'trigger.path' is one directory, not a glob: put wildcards in 'trigger.file'"])
    }

    @Test func theFileIsAGlobOfNames() {
        #expect(problems("trigger: { path: /srv/in, file: sub/a.csv }\n" + steps)
            == ["Jobs/link.yaml:1:33: error: 'trigger.file' is a file name, not a path: put the directory in 'trigger.path'"])
        #expect(problems("trigger: { path: /srv/in, file: \"shikaku_{date:%Y%m%d}.csv\" }\n" + steps)
            == ["Jobs/link.yaml:1:33: error: 'trigger.file' is a glob such as \"shikaku_*.csv\": the date is not known until a file arrives, so put '*' where it goes (and read it with 'date_from_name')"])
        #expect(problems("trigger: { path: /srv/in, file: \"a_{date:%Q}.csv\" }\n" + steps)
            == ["Jobs/link.yaml:1:36: error: in 'trigger.file': '%Q' in '{date:%Q}' is not supported; {date:…} takes %Y %d %j %m %y"])
        #expect(problems("trigger: { path: /srv/in, file: \"${NAME}.csv\" }\n" + steps)
            == ["Jobs/link.yaml:1:33: error: 'trigger.file' cannot use ${VAR}: it is matched before any run exists, so there are no variables yet"])
    }

    @Test func dateFromNameSaysWhereAWholeDateIsInNamesThatFitFile() {
        func trigger(_ dateFromName: String, file: String = "shikaku_*.csv") -> [String] {
            problems("trigger:\n  path: /srv/in\n  file: \"\(file)\"\n  date_from_name: \"\(dateFromName)\"\n" + steps)
        }
        #expect(trigger("shikaku.csv")
            == ["Jobs/link.yaml:4:19: error: 'trigger.date_from_name' needs a {date:…} field saying where the date is in the name, such as \"shikaku_{date:%Y%m%d}.csv\""])
        #expect(trigger("shikaku_{time:%Y%m%d%H%M}.csv")
            == ["Jobs/link.yaml:4:19: error: 'trigger.date_from_name' reads a date: use {date:…}, not {time:…}"])
        #expect(trigger("shikaku_{date:%Y}_{date:%m%d}.csv")
            == ["Jobs/link.yaml:4:19: error: 'trigger.date_from_name' has 2 {date:…} fields: write the date in one, such as {date:%Y%m%d}"])
        #expect(trigger("shikaku_{date:%m%d}.csv")
            == ["Jobs/link.yaml:4:19: error: 'trigger.date_from_name' does not hold a whole date: its {date:…} needs the year (%Y or %y) and the month and day (%m and %d) or the day of the year (%j)"])
        #expect(trigger("shikaku_{date:%Y%m%d}.txt")
            == ["Jobs/link.yaml:4:19: error: 'trigger.date_from_name' does not fit 'trigger.file': a name such as 'shikaku_20261201.txt' would not match \"shikaku_*.csv\", so no file that starts the job has its date there"])
        #expect(trigger("in/shikaku_{date:%Y%m%d}.csv")
            == ["Jobs/link.yaml:4:19: error: 'trigger.date_from_name' is a file name, not a path: put the directory in 'trigger.path'"])
        #expect(trigger("shikaku_{date:%Y%m%d.csv")
            == ["Jobs/link.yaml:4:28: error: in 'trigger.date_from_name': '{' opens a placeholder that is never closed: write {date:%Y%m%d} or {time:%H%M}"])
        #expect(trigger("shikaku_{date:%y%j}_*.csv") == [])
    }

    @Test func doneFileAndStablePairAsInReceive() {
        #expect(problems("trigger: { path: /srv/in, file: a.csv, complete_when: done_file }\n" + steps)
            == ["Jobs/link.yaml:1:55: error: 'complete_when: done_file' needs 'done_file:', the name of the file the sender writes when the data file is complete"])
        #expect(problems("trigger: { path: /srv/in, file: a.csv, complete_when: stable, done_file: a.end }\n" + steps)
            == ["Jobs/link.yaml:1:74: error: 'done_file' goes with 'complete_when: done_file', not with stable"])
        #expect(problems("trigger: { path: /srv/in, file: a.csv, done_file: a.end, stable_for: 5s }\n" + steps)
            == ["Jobs/link.yaml:1:70: error: 'stable_for' goes with 'complete_when: stable', not with done_file"])
        #expect(problems("trigger: { path: /srv/in, file: a.csv, complete_when: whenever }\n" + steps)
            == ["Jobs/link.yaml:1:55: error: 'trigger.complete_when' must be one of done_file, stable, found 'whenever'"])
        #expect(problems("trigger: { path: /srv/in, file: a.csv, done_file: \"a_{time:%H%M}.end\" }\n" + steps)
            == ["Jobs/link.yaml:1:51: error: 'trigger.done_file' can use {date:…} (the file's logical date), not {time:…}: a file's name gives no time"])
        #expect(problems("trigger: { path: /srv/in, file: a.csv, done_file: done/a.end }\n" + steps)
            == ["Jobs/link.yaml:1:51: error: 'trigger.done_file' is a file name, not a path: put the directory in 'trigger.path'"])
    }

    @Test func theLogicalDateIsReadFromTheName() {
        let trigger = FileTrigger(path: "/srv/in", file: "shikaku_*.csv", dateFromName: "shikaku_{date:%Y%m%d}.csv", completeWhen: .stable(.zero))
        #expect(trigger.matches("shikaku_20261201.csv"))
        #expect(!trigger.matches(".shikaku_20261201.csv"))
        #expect(trigger.date(fromName: "shikaku_20261201.csv") == JapaneseHolidays.Day(year: 2026, month: 12, day: 1))
        #expect(trigger.date(fromName: "shikaku_20260229.csv") == nil)
        #expect(trigger.date(fromName: "shikaku_20261301.csv") == nil)
        #expect(trigger.date(fromName: "shikaku_2026121.csv") == nil)
        #expect(trigger.date(fromName: "other_20261201.csv") == nil)
        let dayOfYear = FileTrigger(path: "/srv/in", file: "*", dateFromName: "K{date:%y%j}_*.dat", completeWhen: .stable(.zero))
        #expect(dayOfYear.date(fromName: "K24060_part1.dat") == JapaneseHolidays.Day(year: 2024, month: 2, day: 29))
        let arrival = FileTrigger(path: "/srv/in", file: "*", completeWhen: .stable(.zero))
        #expect(arrival.date(fromName: "shikaku_20261201.csv") == nil)
    }
}

/// Which chains can run: every name in `after:` a job, no job waiting for itself.
@Suite struct DependencyTests {
    @Test func aCycleOfThreeIsReportedOnEachOfItsJobs() throws {
        let jobs = [
            try loaded("a", "after: [b]\n"),
            try loaded("b", "after: [c]\n"),
            try loaded("c", "description: x\nafter:\n  - a\n"),
            try loaded("d", "after: [x, c]\n"),
        ]
        #expect(Dependencies.problems(of: jobs, others: [name("x"): .notChecked]).map(\.description) == [
            "Jobs/a.yaml:1:9: error: 'after' makes a cycle: a → b → c → a; each of these jobs would wait for itself, so none of them is loaded: remove one of the links",
            "Jobs/b.yaml:1:9: error: 'after' makes a cycle: b → c → a → b; each of these jobs would wait for itself, so none of them is loaded: remove one of the links",
            "Jobs/c.yaml:3:5: error: 'after' makes a cycle: c → a → b → c; each of these jobs would wait for itself, so none of them is loaded: remove one of the links",
            "Jobs/d.yaml:1:12: error: 'c' in 'after' is not loaded (see the problems of Jobs/c.yaml): this job would wait for it forever, so it is not loaded either",
        ])
    }

    @Test func eachJobIsToldItsShortestWayRound() throws {
        // a ⇄ b, and b → c → a: two cycles in one tangle.
        let jobs = [try loaded("a", "after: [b]\n"), try loaded("b", "after: [c, a]\n"), try loaded("c", "after: [a]\n")]
        let found = Dependencies.problems(of: jobs)
        #expect(found.map(\.kind) == [.cycle([name("a"), name("b"), name("a")]), .cycle([name("b"), name("a"), name("b")]), .cycle([name("c"), name("a"), name("b"), name("c")])])
        #expect(found.map(\.position) == [SourcePosition(line: 1, column: 9), SourcePosition(line: 1, column: 12), SourcePosition(line: 1, column: 9)])
    }

    @Test func unknownNamesSuggestTheLikelyJob() throws {
        let jobs = [try loaded("juki-export", ""), try loaded("fukushi", "after:\n  - juki-exprot\n  - nowhere\n")]
        #expect(Dependencies.problems(of: jobs).map(\.description) == [
            "Jobs/fukushi.yaml:2:5: error: unknown job 'juki-exprot' in 'after' (did you mean 'juki-export'?): name a job by its file name without .yaml",
            "Jobs/fukushi.yaml:3:5: error: unknown job 'nowhere' in 'after': name a job by its file name without .yaml",
        ])
    }

    @Test func aJobCannotWaitForItself() throws {
        let jobs = [try loaded("link", "after: [other, link]\n"), try loaded("other", "")]
        #expect(Dependencies.problems(of: jobs).map(\.description) == [
            "Jobs/link.yaml:1:16: error: 'link' in 'after' is this job itself: a job cannot wait for its own run; remove it",
        ])
    }

    @Test func waitingForAJobThatDidNotLoadIsAProblemDownTheChain() throws {
        let jobs = [try loaded("welfare", "after: [juki-export]\n"), try loaded("statistics", "after:\n  - welfare\n")]
        let found = Dependencies.problems(of: jobs, others: [name("juki-export"): .notLoaded(file: "Jobs/juki-export.yaml")])
        #expect(found.map(\.description) == [
            "Jobs/statistics.yaml:2:5: error: 'welfare' in 'after' is not loaded (see the problems of Jobs/welfare.yaml): this job would wait for it forever, so it is not loaded either",
            "Jobs/welfare.yaml:1:9: error: 'juki-export' in 'after' is not loaded (see the problems of Jobs/juki-export.yaml): this job would wait for it forever, so it is not loaded either",
        ])
    }

    @Test func aSoundChainHasNoProblems() throws {
        let jobs = [try loaded("a", ""), try loaded("b", "after: a\n"), try loaded("c", "after: [a, b]\n")]
        #expect(Dependencies.problems(of: jobs).isEmpty)
    }

    @Test func downstreamOfADiamondComesInDependencyOrder() {
        func job(_ jobName: String, after: [String]) -> Job {
            Job(name: name(jobName), after: after.map(name), steps: [Step(name: "s", command: .argv(["/bin/true"]))])
        }
        // B and C wait for A; D waits for both (written C first, so order is not just as written).
        let dependencies = Dependencies([job("D", after: ["C", "B"]), job("C", after: ["A"]), job("B", after: ["A"]), job("A", after: []), job("E", after: [])])
        #expect(dependencies.downstream(of: name("A")) == [name("B"), name("C"), name("D")])
        #expect(dependencies.downstream(of: name("B")) == [name("D")])
        #expect(dependencies.downstream(of: name("D")).isEmpty)
        #expect(dependencies.downstream(of: name("E")).isEmpty)
        #expect(dependencies.upstream(of: name("D")) == [name("C"), name("B")])
        // A longer leg: D must still come after everything it waits for.
        let longer = Dependencies([job("A", after: []), job("B", after: ["A"]), job("B2", after: ["B"]), job("C", after: ["A"]), job("D", after: ["B2", "C"])])
        #expect(longer.downstream(of: name("A")) == [name("B"), name("B2"), name("C"), name("D")])
    }

    /// Every job of a 1,000-job cycle is named as in it (how long it takes is for `make bench`,
    /// not a test: a timed assertion failed on a loaded machine, 7.8 s against 5 s).
    @Test func everyJobOfAThousandJobCycleIsReported() {
        let jobs = (0..<1_000).map { index in
            (job: Job(name: name("j\(index)"), after: index == 0 ? [name("j999")] : [name("j\(index - 1)")],
                      steps: [Step(name: "s", command: .argv(["/bin/true"]))]), file: "Jobs/j\(index).yaml")
        }
        let found = Dependencies.problems(of: jobs)
        #expect(found.count == 1_000)
        if case .cycle(let cycle) = found.first?.kind { #expect(cycle.count == 1_001) } else { Issue.record("not a cycle") }
    }
}
