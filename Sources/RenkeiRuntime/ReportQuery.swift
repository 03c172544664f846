import Foundation
import RenkeiCore
import RenkeiStore

/// Reads what the failure report needs from the store.
public enum ReportQuery {
    /// `dependencies` are the chains of the job catalog: a failed upstream and the downstream
    /// failures of class `upstream` it caused read as one incident.
    public static func input(store: RunStore, since: Int64, until: Int64, jobs: [String], zone: String, now: Int64,
                             dependencies: Dependencies = Dependencies([])) throws -> ReportInput {
        let scope = RunStore.ReportScope(since: since, until: until, jobs: jobs)
        let failures = try store.reportFailures(scope)
        let resolverIDs = Array(Set(failures.compactMap(\.resolvedBy)))
        let resolvers = try store.reportRuns(ids: resolverIDs)
        let rules = ZoneRules.named(zone) ?? .utc
        let offset = rules.offset(at: until)
        let days = try store.reportDays(scope, offset: offset).map { entry in
            (date: LogicalTime(epochSeconds: entry.day * 86_400, zoneIdentifier: "UTC").date, runs: entry.runs, failures: entry.failures)
        }
        let (counts, newest) = try store.reportCounts(scope)
        func last(_ states: [RunState]) -> [String: Int64] {
            newest.compactMapValues { byState in states.compactMap { byState[$0] }.max() }
        }
        return ReportInput(
            since: since, until: until, generatedAt: now, zone: zone,
            counts: counts,
            failures: failures, resolvers: Dictionary(uniqueKeysWithValues: resolvers.map { ($0.id, $0) }),
            breaches: try store.reportBreaches(scope), days: days,
            lastSuccess: last([.succeeded]),
            lastFailure: last([.failed, .timedOut, .interrupted]),
            files: try store.reportFiles(scope),
            dependencies: dependencies,
            auditHead: try store.auditHead()
        )
    }
}
