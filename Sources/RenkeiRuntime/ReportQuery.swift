import Foundation
import RenkeiCore
import RenkeiStore

/// Reads what the failure report needs from the store (SQLite or PostgreSQL: `ReportReading`).
public enum ReportQuery {
    /// `dependencies` are the chains of the job catalog: a failed upstream and the downstream
    /// failures of class `upstream` it caused read as one incident.
    public static func input(store: some ReportReading, since: Int64, until: Int64, jobs: [String], zone: String, now: Int64,
                             dependencies: Dependencies = Dependencies([])) async throws -> ReportInput {
        let scope = RunStore.ReportScope(since: since, until: until, jobs: jobs)
        let failures = try await store.reportFailures(scope)
        let resolverIDs = Array(Set(failures.compactMap(\.resolvedBy))).sorted()
        let resolvers = try await store.reportRuns(ids: resolverIDs)
        let rules = ZoneRules.named(zone) ?? .utc
        let offset = rules.offset(at: until)
        let days = try await store.reportDays(scope, offset: offset).map { entry in
            (date: LogicalTime(epochSeconds: entry.day * 86_400, zoneIdentifier: "UTC").date, runs: entry.runs, failures: entry.failures)
        }
        let (counts, newest) = try await store.reportCounts(scope)
        func last(_ states: [RunState]) -> [String: Int64] {
            newest.compactMapValues { byState in states.compactMap { byState[$0] }.max() }
        }
        let breaches = try await store.reportBreaches(scope)
        let files = try await store.reportFiles(scope)
        let auditHead = try await store.auditHead()
        return ReportInput(
            since: since, until: until, generatedAt: now, zone: zone,
            counts: counts,
            failures: failures, resolvers: Dictionary(uniqueKeysWithValues: resolvers.map { ($0.id, $0) }),
            breaches: breaches, days: days,
            lastSuccess: last([.succeeded]),
            lastFailure: last([.failed, .timedOut, .interrupted]),
            files: files,
            dependencies: dependencies,
            auditHead: auditHead
        )
    }
}
