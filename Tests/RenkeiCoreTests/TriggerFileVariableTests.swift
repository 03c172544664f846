import Testing
@testable import RenkeiCore

/// `RENKEI_TRIGGER_FILE`: a job file may use it, and a run gets it only when a file started it.
@Suite struct TriggerFileVariableTests {
    @Test func aJobFileMayUseTheVariable() {
        let text = """
            trigger: { path: /srv/kokuho/outbox, file: "shikaku_*.csv", done_file: "shikaku_{date:%Y%m%d}.done" }
            environment: { SOURCE: "${RENKEI_TRIGGER_FILE}" }
            steps:
              - name: import
                run: ["/usr/local/lib/renkei/kokuho-import", "${RENKEI_TRIGGER_FILE}"]
            """
        guard case .success = JobFileParser.parse(file: "Jobs/kokuho.yaml", name: "kokuho", bytes: Array(text.utf8)) else {
            Issue.record("refused")
            return
        }
    }

    @Test func theEnvironmentHasItOnlyWhenAFileStartedTheRun() throws {
        let job = Job(name: JobName("kokuho")!, environment: ["SOURCE": "in ${RENKEI_TRIGGER_FILE}"],
                      steps: [Step(name: "a", command: .argv(["/bin/echo", "${RENKEI_TRIGGER_FILE}"]))])
        let logical = LogicalTime(epochSeconds: 1_796_050_800, zoneIdentifier: "Asia/Tokyo")
        let started = try RunEnvironment.build(for: job, run: .init(job: job.name, runID: 7, attempt: 1, trigger: .manual, logicalTime: logical,
                                                                    workDirectory: "/w", triggerFile: "/srv/in/a.csv"), inherited: [:])
        #expect(started["RENKEI_TRIGGER_FILE"] == "/srv/in/a.csv")
        #expect(started["SOURCE"] == "in /srv/in/a.csv")
        #expect(try RunEnvironment.arguments(of: job.steps[0], in: started) == ["/bin/echo", "/srv/in/a.csv"])

        let scheduled = try RunEnvironment.build(for: job, run: .init(job: job.name, runID: 8, attempt: 1, trigger: .schedule, logicalTime: logical,
                                                                      workDirectory: "/w"), inherited: [:])
        #expect(scheduled["RENKEI_TRIGGER_FILE"] == nil)
        #expect(scheduled["SOURCE"] == "in ")
        #expect(try RunEnvironment.arguments(of: job.steps[0], in: scheduled) == ["/bin/echo", ""])
    }
}
