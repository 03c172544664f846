import Testing
@testable import RenkeiCore

@Suite struct VariableExpansionTests {
    @Test func expandsBracedNamesOnly() throws {
        let environment = ["DATE": "2026-11-26", "DIR": "/srv/in box"]
        #expect(try VariableExpansion.expand("--date=${DATE}", from: environment) == "--date=2026-11-26")
        #expect(try VariableExpansion.expand("${DIR}/${DATE}.csv", from: environment) == "/srv/in box/2026-11-26.csv")
        #expect(try VariableExpansion.expand("$DATE and $", from: environment) == "$DATE and $")
        #expect(try VariableExpansion.expand("cost: $$5, literal $${DATE}", from: environment) == "cost: $5, literal ${DATE}")
    }

    @Test func valuesAreNotExpandedTwice() throws {
        #expect(try VariableExpansion.expand("${A}", from: ["A": "${B}", "B": "no"]) == "${B}")
    }

    @Test func undefinedUnterminatedAndInvalidNames() {
        #expect(throws: VariableExpansion.Problem.undefined("NOPE", offset: 2)) { try VariableExpansion.expand("x ${NOPE}", from: [:]) }
        #expect(throws: VariableExpansion.Problem.unterminated(offset: 0)) { try VariableExpansion.expand("${OPEN", from: [:]) }
        #expect(throws: VariableExpansion.Problem.invalidName("1X", offset: 0)) { try VariableExpansion.expand("${1X}", from: [:]) }
        #expect(throws: VariableExpansion.Problem.invalidName("", offset: 0)) { try VariableExpansion.expand("${}", from: [:]) }
    }

    @Test func referencesListsEveryNameWithItsOffset() throws {
        let found = try VariableExpansion.references(in: "住民${A}-${B_2}")
        #expect(found == [.init(name: "A", offset: 2), .init(name: "B_2", offset: 7)])
    }

    @Test func runEnvironmentHasTheRenkeiVariablesAndNothingElseInherited() throws {
        let job = Job(name: JobName("juki")!, timezone: "Asia/Tokyo", environment: ["OUT": "${RENKEI_WORK_DIR}/out", "DB_PASSWORD": "s3cret"],
                      steps: [Step(name: "a", command: .argv(["/bin/echo", "${OUT}", "${RENKEI_RERUN_OF}"]))])
        let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")  // 2026-11-30 06:30 JST
        let environment = try RunEnvironment.build(for: job, run: .init(
            job: job.name, runID: 7, attempt: 2, trigger: .retry, logicalTime: logical, workDirectory: "/state/work/juki/7"
        ), inherited: ["PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": "/run/systemd/notify", "AWS_SECRET": "x"])
        #expect(environment["RENKEI_JOB"] == "juki")
        #expect(environment["RENKEI_RUN_ID"] == "7")
        #expect(environment["RENKEI_ATTEMPT"] == "2")
        #expect(environment["RENKEI_TRIGGER"] == "retry")
        #expect(environment["RENKEI_LOGICAL_TIME"] == "2026-11-30T06:30:00+09:00")
        #expect(environment["RENKEI_LOGICAL_DATE"] == "2026-11-30")
        #expect(environment["RENKEI_WORK_DIR"] == "/state/work/juki/7")
        #expect(environment["RENKEI_RERUN_OF"] == nil)
        #expect(environment["OUT"] == "/state/work/juki/7/out")
        #expect(environment["PATH"] == "/usr/bin:/bin")
        #expect(environment["TZ"] == "Asia/Tokyo")
        #expect(environment["NOTIFY_SOCKET"] == nil)
        #expect(environment["AWS_SECRET"] == nil)
        #expect(try RunEnvironment.arguments(of: job.steps[0], in: environment) == ["/bin/echo", "/state/work/juki/7/out", ""])
        #expect(RunEnvironment.redactingSecrets(environment)["DB_PASSWORD"] == "(redacted)")
        #expect(RunEnvironment.redactingSecrets(environment)["OUT"] == "/state/work/juki/7/out")
    }

    @Test func shellLinesAreLeftForTheShellToExpand() throws {
        let step = Step(name: "a", command: .shell("echo ${X}; rm ${Y}"))
        #expect(try RunEnvironment.arguments(of: step, in: ["X": "1; reboot"]) == ["/bin/sh", "-c", "echo ${X}; rm ${Y}"])
    }
}

@Suite struct SecretRedactionTests {
    let environment = ["DB_PASSWORD": "s3cr3t", "pin_token": "42", "DIR": "/srv/in", "COPY": "x-s3cr3t-y"]

    func step(_ arguments: [String]) -> Step { Step(name: "s", command: .argv(arguments)) }

    @Test func theShownArgvHidesEachSecretWhereItWasExpandedWhateverItsLength() throws {
        let line = try RunEnvironment.commandLine(of: step(["/bin/echo", "pw=${DB_PASSWORD}", "${pin_token}", "${DIR}/42.csv", "${credential:db}"]),
                                                  in: environment, credentials: { name in name == "db" ? .success("cred-value") : .failure(.init("no")) })
        #expect(line.arguments == ["/bin/echo", "pw=s3cr3t", "42", "/srv/in/42.csv", "cred-value"])
        // A two-letter secret is hidden where it was expanded, not in every "42" of a path.
        #expect(line.shown == ["/bin/echo", "pw=(redacted)", "(redacted)", "/srv/in/42.csv", "(redacted)"])
    }

    @Test func aSecretWrittenOutOrCopiedIntoAnotherValueIsHiddenToo() throws {
        let line = try RunEnvironment.commandLine(of: step(["/bin/echo", "-ps3cr3t", "${COPY}"]), in: environment)
        #expect(line.shown == ["/bin/echo", "-p(redacted)", "x-(redacted)-y"])
        let shell = try RunEnvironment.commandLine(of: Step(name: "s", command: .shell("mysql -ps3cr3t ${DB_PASSWORD}")), in: environment)
        #expect(shell.arguments == ["/bin/sh", "-c", "mysql -ps3cr3t ${DB_PASSWORD}"])
        #expect(shell.shown == ["/bin/sh", "-c", "mysql -p(redacted) ${DB_PASSWORD}"])
        #expect(RunEnvironment.redactingSecrets(environment)["COPY"] == "x-(redacted)-y")
    }

    @Test func credentialsAreSyntaxCheckedAndNeverVariables() throws {
        #expect(try VariableExpansion.references(in: "${credential:db.main} ${A}") == [.init(name: "A", offset: 22)])
        #expect(throws: VariableExpansion.Problem.invalidName("credential:../x", offset: 0)) { try VariableExpansion.references(in: "${credential:../x}") }
        #expect(throws: VariableExpansion.Problem.credentialUnavailable("db", reason: "credentials are only read for a step's 'run' and 'environment'", offset: 3)) {
            try VariableExpansion.expand("pw=${credential:db}", from: [:])
        }
    }
}
