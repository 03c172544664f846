import Foundation
import RenkeiCore
import RenkeiStore

/// Reads what the failure report needs from the store.
public enum ReportQuery {
    public static func input(store: RunStore, since: Int64, until: Int64, jobs: [String], zone: String, now: Int64) throws -> ReportInput {
        let scope = RunStore.ReportScope(since: since, until: until, jobs: jobs)
        let failures = try store.reportFailures(scope)
        let resolverIDs = Array(Set(failures.compactMap(\.resolvedBy)))
        let resolvers = try store.runs(ids: resolverIDs)
        let rules = ZoneRules.named(zone) ?? .utc
        let offset = rules.offset(at: until)
        let days = try store.reportDays(scope, offset: offset).map { entry in
            (date: LogicalTime(epochSeconds: entry.day * 86_400, zoneIdentifier: "UTC").date, runs: entry.runs, failures: entry.failures)
        }
        return ReportInput(
            since: since, until: until, generatedAt: now, zone: zone,
            counts: try store.reportCounts(scope),
            failures: failures.map(facts), resolvers: Dictionary(uniqueKeysWithValues: resolvers.map { ($0.id!, facts($0)) }),
            breaches: try store.reportBreaches(scope), days: days,
            lastSuccess: try store.reportLast(scope, states: [.succeeded]),
            lastFailure: try store.reportLast(scope, states: [.failed, .timedOut, .interrupted])
        )
    }

    static func facts(_ run: RunRecord) -> RunFacts {
        RunFacts(id: run.id!, job: run.job, logicalTime: run.logicalTime, zone: run.logicalZone, trigger: run.trigger, state: run.state,
                 errorClass: run.errorClass, errorMessage: run.errorMessage,
                 finishedAt: run.finishedAt.map { Int64($0.timeIntervalSince1970) }, requestedBy: run.requestedByUser, reason: run.reason,
                 resolvedBy: run.resolvedBy)
    }
}
