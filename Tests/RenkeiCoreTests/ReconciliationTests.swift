import Testing
@testable import RenkeiCore

/// The reconciliation rule, on facts alone: no store, no files.
@Suite struct ReconciliationTests {
    static func facts(received: FileTotals, delivered: FileTotals = FileTotals(), succeeded: Bool = true, job: String = "juki", date: String = "2026-11-02") -> LinkDateFiles {
        LinkDateFiles(job: job, logicalDate: date, received: received, delivered: delivered, succeeded: succeeded)
    }

    @Test func deliveredBySucceededRunsIsReconciled() {
        let row = FailureReport.Reconciliation(Self.facts(received: FileTotals(files: 1, bytes: 100), delivered: FileTotals(files: 1, bytes: 120)))
        #expect(row.status == .reconciled)
        #expect(row.recordsReceived == nil && row.recordsDelivered == nil)
        #expect(row.reason == "delivered and the runs succeeded; records not counted on both sides")
        let counted = FailureReport.Reconciliation(Self.facts(received: FileTotals(files: 1, bytes: 100, countedRecords: 50, filesWithRecords: 1),
                                                              delivered: FileTotals(files: 1, bytes: 120, countedRecords: 50, filesWithRecords: 1)))
        #expect(counted.status == .reconciled)
        #expect(counted.reason == "50 records received and delivered; the runs succeeded")
    }

    @Test func recordsThatDifferAreNamedWhateverTheRunsDid() {
        for succeeded in [true, false] {
            let row = FailureReport.Reconciliation(Self.facts(received: FileTotals(files: 1, bytes: 400, countedRecords: 100, filesWithRecords: 1),
                                                              delivered: FileTotals(files: 1, bytes: 380, countedRecords: 98, filesWithRecords: 1), succeeded: succeeded))
            #expect(row.status == .recordsDiffer)
            #expect(row.status.needsAction)
            #expect(row.reason == "100 records received, 98 delivered")
        }
    }

    @Test func recordsKnownForSomeFilesOnlyAreNotCompared() {
        // Two files received, one counted: 3 records of an unknown total must not look like "3 ≠ 5".
        let partial = FileTotals(files: 2, bytes: 30, countedRecords: 3, filesWithRecords: 1)
        #expect(partial.records == nil)
        let row = FailureReport.Reconciliation(Self.facts(received: partial, delivered: FileTotals(files: 1, bytes: 30, countedRecords: 5, filesWithRecords: 1)))
        #expect(row.status == .reconciled)
        #expect(row.recordsReceived == nil)
        #expect(row.recordsDelivered == 5)
        #expect(FileTotals().records == nil, "no files: nothing counted, not zero records")
    }

    @Test func receivedWithoutDeliveryDependsOnTheRuns() {
        let failed = FailureReport.Reconciliation(Self.facts(received: FileTotals(files: 1, bytes: 200), succeeded: false))
        #expect(failed.status == .notDelivered)
        #expect(failed.status.needsAction)
        let receiveOnly = FailureReport.Reconciliation(Self.facts(received: FileTotals(files: 2, bytes: 30)))
        #expect(receiveOnly.status == .receivedOnly)
        #expect(!receiveOnly.status.needsAction)
    }

    @Test func deliveredByARunThatThenFailedIsUnfinished() {
        let row = FailureReport.Reconciliation(Self.facts(received: FileTotals(files: 1, bytes: 500), delivered: FileTotals(files: 1, bytes: 520), succeeded: false))
        #expect(row.status == .unfinished)
        #expect(row.status.needsAction)
        // A job that only delivers (its data made by a step of its own) is reconciled once its run succeeds.
        #expect(ReconciliationStatus.of(Self.facts(received: FileTotals(), delivered: FileTotals(files: 1, bytes: 9))) == .reconciled)
    }

    @Test func theReportListsRowsByDateThenJob() {
        let one = FileTotals(files: 1, bytes: 1)
        let input = ReportInput(since: 0, until: 86_400 * 10, generatedAt: 86_400 * 10, zone: "UTC", counts: [:], failures: [], resolvers: [:], breaches: [:],
                                days: [], lastSuccess: [:], lastFailure: [:],
                                files: [Self.facts(received: one, job: "kokuho", date: "2026-11-03"), Self.facts(received: one, job: "kokuho", date: "2026-11-02"),
                                        Self.facts(received: one, job: "juki", date: "2026-11-03")])
        let report = FailureReport.make(input)
        #expect(report.reconciliation.map { "\($0.logicalDate) \($0.job)" } == ["2026-11-02 kokuho", "2026-11-03 juki", "2026-11-03 kokuho"])
        #expect(FailureReport.make(ReportInput(since: 0, until: 1, generatedAt: 1, zone: "UTC", counts: [:], failures: [], resolvers: [:], breaches: [:],
                                               days: [], lastSuccess: [:], lastFailure: [:])).reconciliation.isEmpty)
    }
}
