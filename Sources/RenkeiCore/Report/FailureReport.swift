/// The facts of one run the report needs (the store supplies them; the report does no I/O).
public struct RunFacts: Sendable, Equatable {
    public var id: Int64
    public var job: String
    /// Seconds since the epoch, and the zone its day is read in.
    public var logicalTime: Int64
    public var zone: String
    public var trigger: Trigger
    public var state: RunState
    public var errorClass: ErrorClass?
    public var errorMessage: String?
    /// Seconds since the epoch.
    public var finishedAt: Int64?
    public var requestedBy: String?
    public var reason: String?
    public var resolvedBy: Int64?

    public init(id: Int64, job: String, logicalTime: Int64, zone: String, trigger: Trigger, state: RunState, errorClass: ErrorClass? = nil,
                errorMessage: String? = nil, finishedAt: Int64? = nil, requestedBy: String? = nil, reason: String? = nil, resolvedBy: Int64? = nil) {
        self.id = id
        self.job = job
        self.logicalTime = logicalTime
        self.zone = zone
        self.trigger = trigger
        self.state = state
        self.errorClass = errorClass
        self.errorMessage = errorMessage
        self.finishedAt = finishedAt
        self.requestedBy = requestedBy
        self.reason = reason
        self.resolvedBy = resolvedBy
    }
}

/// What the store knows about a period, aggregated where it can be (counts come from SQL).
public struct ReportInput: Sendable {
    public var since: Int64
    public var until: Int64
    public var generatedAt: Int64
    /// The zone times are shown in (the machine's).
    public var zone: String
    /// Rows per job and state.
    public var counts: [String: [RunState: Int]]
    /// Every failed, timed-out or interrupted run in the period.
    public var failures: [RunFacts]
    /// The runs that resolved them, by id.
    public var resolvers: [Int64: RunFacts]
    /// Deadline breaches per job.
    public var breaches: [String: Int]
    /// Runs and failed runs per day (`YYYY-MM-DD` in `zone`), for the chart.
    public var days: [(date: String, runs: Int, failures: Int)]
    public var lastSuccess: [String: Int64]
    public var lastFailure: [String: Int64]
    /// Files received and delivered per job and logical date, for the reconciliation table.
    public var files: [LinkDateFiles]
    /// The chains between the jobs (`after:`), to group a failed upstream with the downstream
    /// failures it caused; none when the job files could not be read.
    public var dependencies: Dependencies
    /// The audit chain's newest row when the report was made: the report is a second copy of it.
    public var auditHead: AuditHead?

    public init(since: Int64, until: Int64, generatedAt: Int64, zone: String, counts: [String: [RunState: Int]], failures: [RunFacts],
                resolvers: [Int64: RunFacts], breaches: [String: Int], days: [(date: String, runs: Int, failures: Int)],
                lastSuccess: [String: Int64], lastFailure: [String: Int64], files: [LinkDateFiles] = [], dependencies: Dependencies = Dependencies([]),
                auditHead: AuditHead? = nil) {
        self.auditHead = auditHead
        self.since = since
        self.until = until
        self.generatedAt = generatedAt
        self.zone = zone
        self.counts = counts
        self.failures = failures
        self.resolvers = resolvers
        self.breaches = breaches
        self.days = days
        self.lastSuccess = lastSuccess
        self.lastFailure = lastFailure
        self.files = files
        self.dependencies = dependencies
    }
}

/// The failure report: "were there any failures, and were they all handled?" Its JSON form is
/// documented in docs/report.md; `schemaVersion` changes when a field's meaning does.
public struct FailureReport: Sendable, Equatable, Codable {
    public static let schemaVersion = 1

    public struct Counts: Sendable, Equatable, Codable {
        /// Runs executed (skipped and missed slots are not runs).
        public var runs = 0
        public var succeeded = 0
        /// Failed logical times (a link retried three times is one failure).
        public var failed = 0
        public var recoveredByRetry = 0
        public var resolvedByRerun = 0
        public var unresolved = 0
        public var missed = 0
        public var skipped = 0
        public var deadlineBreaches = 0
        public var interrupted = 0

        enum CodingKeys: String, CodingKey {
            case runs, succeeded, failed, missed, skipped, interrupted, unresolved
            case recoveredByRetry = "recovered_by_retry", resolvedByRerun = "resolved_by_rerun", deadlineBreaches = "deadline_breaches"
        }
    }

    public struct Totals: Sendable, Equatable, Codable {
        public var counts: Counts
        /// Succeeded runs ÷ finished runs, 0…1; nil when nothing ran.
        public var successRate: Double?
        public var resolutionMedianSeconds: Int64?
        public var resolutionLongestSeconds: Int64?
        /// Failures counted once per chain: a failed upstream and the `upstream` failures it
        /// caused downstream are one incident.
        public var incidents = 0

        enum CodingKeys: String, CodingKey {
            case counts, incidents, successRate = "success_rate", resolutionMedianSeconds = "resolution_median_seconds", resolutionLongestSeconds = "resolution_longest_seconds"
        }
    }

    public struct JobRow: Sendable, Equatable, Codable {
        public var job: String
        public var counts: Counts
        public var lastFailure: String?
        public var lastSuccess: String?

        enum CodingKeys: String, CodingKey { case job, counts, lastFailure = "last_failure", lastSuccess = "last_success" }
    }

    public struct Failure: Sendable, Equatable, Codable {
        /// The newest failed run of the logical time.
        public var run: Int64
        public var job: String
        public var logicalTime: String
        public var errorClass: String
        /// The first line of the error.
        public var error: String
        /// How many failed attempts the logical time had.
        public var attempts: Int
        /// The run of the failure this one's incident started with (`Incidents`): its own run,
        /// unless it failed with class `upstream` because of an upstream's failure that day.
        public var incident: Int64
        /// Unresolved: the command that repeats it.
        public var rerunCommand: String?
        /// Resolved: by which run, how (`retry`, `rerun`, `run`), who asked, why, after how long.
        public var resolvedBy: Int64?
        public var resolution: String?
        public var requestedBy: String?
        public var reason: String?
        public var openSeconds: Int64?

        enum CodingKeys: String, CodingKey {
            case run, job, error, attempts, resolution, reason, incident
            case logicalTime = "logical_time", errorClass = "error_class", rerunCommand = "rerun_command", resolvedBy = "resolved_by"
            case requestedBy = "requested_by", openSeconds = "open_seconds"
        }
    }

    public struct Day: Sendable, Equatable, Codable {
        public var date: String
        public var runs: Int
        public var failures: Int
    }

    public var schemaVersion = FailureReport.schemaVersion
    public var generatedAt: String
    public var since: String
    public var until: String
    public var timezone: String
    public var totals: Totals
    public var jobs: [JobRow]
    public var unresolved: [Failure]
    public var resolved: [Failure]
    public var days: [Day]
    /// Per job and logical date: what was received, what was delivered, and whether they agree.
    public var reconciliation: [Reconciliation]
    /// The audit chain's head (row id and hash) as the report was made; `renkeictl audit --verify`
    /// compares the table with it through the report's journal event.
    public var auditHead: AuditHead?

    enum CodingKeys: String, CodingKey {
        case totals, jobs, unresolved, resolved, days, since, until, timezone, reconciliation
        case schemaVersion = "schema_version", generatedAt = "generated_at", auditHead = "audit_head"
    }

    /// Builds the report; failures are grouped per job and logical time.
    public static func make(_ input: ReportInput) -> FailureReport {
        let zone = ZoneRules.named(input.zone) ?? .utc
        func time(_ seconds: Int64) -> String { LogicalTime.iso8601(seconds, in: zone) }

        var perJob: [String: Counts] = [:]
        for (job, states) in input.counts {
            var counts = Counts()
            for (state, count) in states {
                switch state {
                case .missed: counts.missed += count
                case .skipped: counts.skipped += count
                default:
                    counts.runs += count
                    if state == .succeeded { counts.succeeded += count }
                    if state == .interrupted { counts.interrupted += count }
                }
            }
            counts.deadlineBreaches = input.breaches[job] ?? 0
            perJob[job] = counts
        }
        for (job, count) in input.breaches where perJob[job] == nil {
            var counts = Counts()
            counts.deadlineBreaches = count
            perJob[job] = counts
        }

        let groups = Dictionary(grouping: input.failures) { "\($0.job)\u{0}\($0.logicalTime)" }
        var unresolved: [Failure] = []
        var resolved: [Failure] = []
        var resolutionTimes: [Int64] = []
        var newestFacts: [Int64: RunFacts] = [:]
        for attempts in groups.values {
            let ordered = attempts.sorted { $0.id < $1.id }
            let newest = ordered.last!
            let first = ordered.first!
            var failure = Failure(run: newest.id, job: newest.job, logicalTime: LogicalTime.iso8601(newest.logicalTime, in: zone),
                                  errorClass: (newest.errorClass ?? .exit).rawValue,
                                  error: String((newest.errorMessage ?? newest.state.rawValue).split(separator: "\n").first ?? ""),
                                  attempts: ordered.count, incident: newest.id)
            newestFacts[newest.id] = newest
            perJob[newest.job, default: Counts()].failed += 1
            if let resolverID = ordered.compactMap(\.resolvedBy).last, let resolver = input.resolvers[resolverID] {
                failure.resolvedBy = resolverID
                failure.resolution = resolver.trigger == .retry || resolver.trigger == .schedule || resolver.trigger == .catchUp ? "retry" : resolver.trigger.rawValue
                failure.requestedBy = resolver.requestedBy ?? "renkeid (automatic retry)"
                failure.reason = resolver.reason
                if let end = resolver.finishedAt, let start = first.finishedAt {
                    failure.openSeconds = max(end - start, 0)
                    resolutionTimes.append(max(end - start, 0))
                }
                if failure.resolution == "retry" { perJob[newest.job, default: Counts()].recoveredByRetry += 1 } else { perJob[newest.job, default: Counts()].resolvedByRerun += 1 }
                resolved.append(failure)
            } else {
                failure.rerunCommand = "renkeictl rerun \(newest.id) --reason \"…\" --wait"
                failure.openSeconds = max(input.generatedAt - (first.finishedAt ?? input.generatedAt), 0)
                perJob[newest.job, default: Counts()].unresolved += 1
                unresolved.append(failure)
            }
        }
        let roots = Incidents.roots(of: newestFacts.values.map { facts in
            Incidents.Failure(run: facts.id, job: facts.job, date: LogicalTime(epochSeconds: facts.logicalTime, zoneIdentifier: facts.zone).date,
                              errorClass: facts.errorClass)
        }, dependencies: input.dependencies)
        for index in unresolved.indices { unresolved[index].incident = roots[unresolved[index].run] ?? unresolved[index].run }
        for index in resolved.indices { resolved[index].incident = roots[resolved[index].run] ?? resolved[index].run }
        var total = Counts()
        for counts in perJob.values {
            total.runs += counts.runs; total.succeeded += counts.succeeded; total.failed += counts.failed
            total.recoveredByRetry += counts.recoveredByRetry; total.resolvedByRerun += counts.resolvedByRerun
            total.unresolved += counts.unresolved; total.missed += counts.missed; total.skipped += counts.skipped
            total.deadlineBreaches += counts.deadlineBreaches; total.interrupted += counts.interrupted
        }
        let sortedTimes = resolutionTimes.sorted()
        let median: Int64? = sortedTimes.isEmpty ? nil : (sortedTimes.count % 2 == 1 ? sortedTimes[sortedTimes.count / 2]
            : (sortedTimes[sortedTimes.count / 2 - 1] + sortedTimes[sortedTimes.count / 2]) / 2)
        let finished = total.runs
        return FailureReport(
            generatedAt: time(input.generatedAt), since: time(input.since), until: time(input.until), timezone: input.zone,
            totals: Totals(counts: total, successRate: finished == 0 ? nil : Double(total.succeeded) / Double(finished),
                           resolutionMedianSeconds: median, resolutionLongestSeconds: sortedTimes.last, incidents: Set(roots.values).count),
            jobs: perJob.keys.sorted().map { job in
                JobRow(job: job, counts: perJob[job]!, lastFailure: input.lastFailure[job].map(time), lastSuccess: input.lastSuccess[job].map(time))
            },
            unresolved: grouped(unresolved, input.dependencies), resolved: grouped(resolved, input.dependencies),
            days: input.days.map { Day(date: $0.date, runs: $0.runs, failures: $0.failures) },
            reconciliation: reconciliation(input.files),
            auditHead: input.auditHead
        )
    }

    /// Failures in time order, each incident's downstream failures right after its root when the
    /// root is in the same list, in the order the chain runs them.
    static func grouped(_ failures: [Failure], _ dependencies: Dependencies) -> [Failure] {
        let here = Dictionary(failures.map { ($0.run, $0) }, uniquingKeysWith: { first, _ in first })
        var chainOrder: [String: [String: Int]] = [:]
        func key(_ failure: Failure) -> (String, String, Int64, Int, String, Int64) {
            guard failure.incident != failure.run, let root = here[failure.incident] else { return (failure.logicalTime, failure.job, failure.run, 0, "", 0) }
            if chainOrder[root.job] == nil {
                let below = JobName(root.job).map { dependencies.downstream(of: $0) } ?? []
                chainOrder[root.job] = Dictionary(below.enumerated().map { ($0.element.rawValue, $0.offset) }, uniquingKeysWith: { first, _ in first })
            }
            return (root.logicalTime, root.job, root.run, 1 + (chainOrder[root.job]?[failure.job] ?? Int.max - 1), failure.logicalTime, failure.run)
        }
        return failures.map { ($0, key($0)) }.sorted { $0.1 < $1.1 }.map(\.0)
    }
}
