import Testing
@testable import RenkeiCore

private func parse(_ text: String) -> Result<Job, JobFileFailure> {
    JobFileParser.parse(file: "Jobs/link.yaml", name: "link", bytes: Array(text.utf8))
}

private func problems(_ text: String) -> [String] {
    switch parse(text) {
    case .success: return []
    case .failure(let failure): return failure.problems.map(\.description)
    }
}

/// The built-in steps as a job file writes them, and every mistake reported where it is.
@Suite struct LinkStepParsingTests {
    @Test func receiveAndDeliverParseIntoTheModel() throws {
        let job = try parse("""
            environment: { SIM: /srv }
            steps:
              - name: receive
                receive:
                  from: /srv/juki/outbox
                  file: "IDO_{date:%Y%m%d}.csv"
                  complete_when: done_file
                  done_file: "IDO_{date:%Y%m%d}.end"
                  wait_until: "07:00"
                  take: move
                  on_duplicate: accept
              - name: deliver
                deliver:
                  file: out/IDO.csv
                  to: "${SIM}/fukushi/inbox"
                  as: "IDO_{date:%Y%m%d}.csv"
                  if_exists: keep
                  generations: 5
                  done_file: "IDO_{date:%Y%m%d}.end"
                  mode: "0600"
            """).get()
        #expect(job.steps[0].command == .link(.receive(.init(
            from: "/srv/juki/outbox", file: "IDO_{date:%Y%m%d}.csv", completeWhen: .doneFile("IDO_{date:%Y%m%d}.end"),
            waitUntil: .at(TimeOfDay("07:00")!), take: .move, onDuplicate: .accept))))
        #expect(job.steps[1].command == .link(.deliver(.init(
            file: "out/IDO.csv", to: "${SIM}/fukushi/inbox", name: "IDO_{date:%Y%m%d}.csv", ifExists: .keep, generations: 5,
            doneFile: "IDO_{date:%Y%m%d}.end", mode: 0o600))))
    }

    @Test func defaultsAreStableCopyFailAndMode0640() throws {
        let job = try parse("steps:\n  - name: r\n    receive: { from: in, file: \"*.csv\", wait_until: 2h }\n  - name: d\n    deliver: { file: a, to: /t }\n").get()
        #expect(job.steps[0].command == .link(.receive(.init(from: "in", file: "*.csv", completeWhen: .stable(JobDuration(seconds: 10)),
                                                             waitUntil: .after(JobDuration(seconds: 7200))))))
        #expect(job.steps[1].command == .link(.deliver(.init(file: "a", to: "/t", ifExists: .fail, mode: 0o640))))
    }

    @Test func unknownKeyInAVerbNamesItsPlaceAndTheAllowedKeys() {
        let found = problems("steps:\n  - name: r\n    receive:\n      from: /x\n      file: a.csv\n      wait_untill: \"07:00\"\n")
        #expect(found == ["Jobs/link.yaml:6:7: error: unknown key 'wait_untill' in receive (did you mean 'wait_until'?); allowed keys: from, file, complete_when, done_file, stable_for, wait_until, take, on_duplicate"])
        let deliver = problems("steps:\n  - name: d\n    deliver: { file: a, to: /t, generation: 2 }\n")
        #expect(deliver == ["Jobs/link.yaml:3:33: error: unknown key 'generation' in deliver (did you mean 'generations'?); allowed keys: file, to, as, if_exists, generations, done_file, mode"])
    }

    @Test func aStepDoesExactlyOneThing() {
        #expect(problems("steps:\n  - name: a\n    run: [\"/bin/true\"]\n    deliver: { file: a, to: /t }\n")
            == ["Jobs/link.yaml:4:14: error: step 'a' has both 'run:' and 'deliver:': a step does exactly one thing, so split it into two steps"])
        #expect(problems("steps:\n  - name: a\n    timeout: 5m\n")
            == ["Jobs/link.yaml:2:5: error: step 'a' needs one of 'run:' (a command, such as [\"/usr/bin/env\", \"true\"]), 'receive:', 'deliver:', 'check:' or 'convert:'"])
        #expect(problems("steps:\n  - name: a\n    shell: true\n    deliver: { file: a, to: /t }\n")
            == ["Jobs/link.yaml:3:12: error: 'shell' goes with 'run:', not with 'deliver:'"])
    }

    @Test func requiredKeysAndPairings() {
        #expect(problems("steps:\n  - name: r\n    receive: { file: a.csv }\n")
            == ["Jobs/link.yaml:3:14: error: 'receive' needs 'from:', the source directory, such as /srv/juki/outbox"])
        #expect(problems("steps:\n  - name: r\n    receive: { from: /x, file: a.csv, complete_when: done_file }\n")
            == ["Jobs/link.yaml:3:54: error: 'complete_when: done_file' needs 'done_file:', the name of the file the sender writes when the data file is complete"])
        #expect(problems("steps:\n  - name: r\n    receive: { from: /x, file: a.csv, complete_when: stable, done_file: a.end }\n")
            == ["Jobs/link.yaml:3:73: error: 'done_file' goes with 'complete_when: done_file', not with stable"])
        #expect(problems("steps:\n  - name: d\n    deliver: { file: a, to: /t, generations: 2 }\n")
            == ["Jobs/link.yaml:3:46: error: 'generations' goes with 'if_exists: keep' (how many earlier versions NAME.1 … NAME.N are kept)"])
    }

    @Test func patternMistakesPointAtTheCharacter() {
        #expect(problems("steps:\n  - name: r\n    receive: { from: /x, file: \"IDO_{date:%Y%q}.csv\" }\n")
            == ["Jobs/link.yaml:3:37: error: in 'receive.file': '%q' in '{date:%Y%q}' is not supported; {date:…} takes %Y %d %j %m %y"])
        #expect(problems("steps:\n  - name: r\n    receive: { from: /x, file: \"IDO_{day}.csv\" }\n")
            == ["Jobs/link.yaml:3:37: error: in 'receive.file': unknown placeholder '{day}': use {date:FORMAT} or {time:FORMAT}, such as {date:%Y%m%d}"])
        #expect(problems("steps:\n  - name: d\n    deliver: { file: a, to: /t, as: \"IDO_*.csv\" }\n")
            == ["Jobs/link.yaml:3:42: error: in 'deliver.as': '*' is a wildcard, but this must name exactly one file"])
        #expect(problems("steps:\n  - name: d\n    deliver: { file: a, to: \"${NOPE}/x\" }\n")
            == ["Jobs/link.yaml:3:30: error: in 'deliver.to': undefined variable ${NOPE}: define it under 'environment:' (only the run's environment is expanded, never the daemon's)"])
        #expect(problems("steps:\n  - name: r\n    receive: { from: /x, file: sub/a.csv }\n")
            == ["Jobs/link.yaml:3:32: error: 'receive.file' is a file name, not a path: put the directory in 'receive.from'"])
    }

    @Test func modesThatLetOthersWriteAreRefused() {
        #expect(problems("steps:\n  - name: d\n    deliver: { file: a, to: /t, mode: \"0666\" }\n")
            == ["Jobs/link.yaml:3:39: error: 'deliver.mode' 0666 lets every user of the target machine change the delivered file: drop the last digit's write bit (such as \"0640\" or \"0664\")"])
        #expect(problems("steps:\n  - name: d\n    deliver: { file: a, to: /t, mode: \"4755\" }\n").count == 1)
        #expect(problems("steps:\n  - name: d\n    deliver: { file: a, to: /t, mode: rw }\n").count == 1)
    }
}

@Suite struct FilePatternTests {
    /// 2026-12-01 06:30:05 in Tokyo (21:30:05 UTC the day before).
    let logical = LogicalTime(epochSeconds: 1_796_074_205, zoneIdentifier: "Asia/Tokyo")

    @Test func datesAndTimesInTheJobsZone() throws {
        #expect(try FilePattern("IDO_{date:%Y%m%d}.csv").filled(for: logical) == "IDO_20261201.csv")
        #expect(try FilePattern("{date:%y-%j}_{time:%H%M%S}").filled(for: logical) == "26-335_063005")
        #expect(try FilePattern("{date}").filled(for: logical) == "2026-12-01")
        #expect(try FilePattern("100%%_{date:%d%%}").filled(for: logical) == "100%%_01%")
        #expect(try FilePattern("shikaku_*.csv").filled(for: logical) == "shikaku_*.csv")
        #expect(try FilePattern("${SIM}/x_{date:%m}").filled(for: logical) == "${SIM}/x_12")
    }

    @Test func problemsCarryTheirOffset() {
        #expect(throws: FilePattern.Problem(offset: 2, message: "'{' opens a placeholder that is never closed: write {date:%Y%m%d} or {time:%H%M}")) {
            try FilePattern("a_{date:%Y")
        }
        #expect(throws: FilePattern.Problem(offset: 1, message: "'%H' in '{date:%H}' is not supported; {date:…} takes %Y %d %j %m %y")) {
            try FilePattern("a{date:%H}")
        }
    }

    @Test func pathsAreReadAsTheirNamesSay() {
        #expect(LinkStepResolution.normalized("/state/work/j/7/../../../sim/./outbox/") == "/state/sim/outbox")
        #expect(LinkStepResolution.normalized("/../x//y") == "/x/y")
    }

    @Test func waitUntilIsTheLocalTimeOnTheLogicalDate() {
        let instant = LinkStepResolution.instant(of: TimeOfDay("07:00")!, on: logical)
        #expect(instant == 1_796_076_000)   // 2026-12-01 07:00 +09:00
    }

    @Test func resolutionFillsPatternsThenVariablesAndAnchorsRelativePaths() throws {
        let context = LinkStepResolution.Context(job: "j", runID: 7, step: "r", logicalTime: logical, environment: ["SIM": "/srv/sim"],
                                                 workDirectory: "/state/work/j/7", startedAt: 1_796_076_000, force: false, resultPath: "/r.json")
        let receive = try LinkStepResolution.request(for: .receive(.init(from: "${SIM}/outbox", file: "IDO_{date:%Y%m%d}.csv",
                                                                        completeWhen: .doneFile("IDO_{date:%Y%m%d}.end"),
                                                                        waitUntil: .after(JobDuration(seconds: 3600)))),
                                                     in: context, receipts: [])
        #expect(receive.receive == .init(directory: "/srv/sim/outbox", pattern: "IDO_20261201.csv", doneFilePattern: "IDO_20261201.end",
                                         waitUntil: 1_796_079_600, waitUntilText: "1h after the step started (08:00:00)"))
        let deliver = try LinkStepResolution.request(for: .deliver(.init(file: "out/IDO_{date:%Y%m%d}.csv", to: "${SIM}/inbox")), in: context, receipts: [])
        #expect(deliver.deliver == .init(source: "/state/work/j/7/out/IDO_20261201.csv", directory: "/srv/sim/inbox", name: "IDO_20261201.csv"))
        #expect(deliver.logicalDate == "2026-12-01")
    }
}
