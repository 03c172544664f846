import RenkeiCore

/// What the failure report reads from a store, whichever it is: the SQLite `RunStore` of one
/// node, or the PostgreSQL database of several (`PostgresReportReading`). Both answer the same
/// questions with the same SQL semantics, so a report reads the same on either.
public protocol ReportReading {
    /// Rows per job and state, and the newest logical time of each.
    func reportCounts(_ scope: RunStore.ReportScope) async throws -> (counts: [String: [RunState: Int]], newest: [String: [RunState: Int64]])
    /// The failed runs of the period (failed, timed out, interrupted), by id.
    func reportFailures(_ scope: RunStore.ReportScope) async throws -> [RunFacts]
    /// The runs with these ids (the runs that resolved failures), in no particular order.
    func reportRuns(ids: [Int64]) async throws -> [RunFacts]
    /// Deadline breaches per job.
    func reportBreaches(_ scope: RunStore.ReportScope) async throws -> [String: Int]
    /// Files taken in and handed over per job and logical date, by date then job.
    func reportFiles(_ scope: RunStore.ReportScope) async throws -> [LinkDateFiles]
    /// Runs and failed runs per day, days taken at UTC offset `offset` (seconds), by day.
    func reportDays(_ scope: RunStore.ReportScope, offset: Int64) async throws -> [(day: Int64, runs: Int, failures: Int)]
    /// The audit chain's newest row; nil when nothing was audited yet.
    func auditHead() async throws -> AuditHead?
}
