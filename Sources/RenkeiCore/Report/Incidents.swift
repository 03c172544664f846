/// Which failures of a report are one incident: a failed upstream and the downstream runs of the
/// same business date that failed with class `upstream` because of it, down the whole chain. An
/// operator fixes the root and reruns its downstreams; counting each of them as a problem of its
/// own would hide that there was one.
public enum Incidents {
    /// One failed logical time, as far as incidents care.
    public struct Failure: Sendable, Equatable {
        /// The run that stands for it in the report (its newest failed attempt).
        public var run: Int64
        public var job: String
        /// `YYYY-MM-DD`, the logical date in the run's own zone.
        public var date: String
        public var errorClass: ErrorClass?

        public init(run: Int64, job: String, date: String, errorClass: ErrorClass?) {
            self.run = run
            self.job = job
            self.date = date
            self.errorClass = errorClass
        }
    }

    /// The root of each failure's incident, by run: itself unless it failed with class `upstream`
    /// and an upstream of its job (in `after:` order, through `dependencies`) has a failure of the
    /// same date, in which case that failure's root. Of an upstream's failures that date, one of
    /// its own making (not `upstream`) is preferred, then the newest. A downstream with two failed
    /// upstreams belongs to the first one's incident.
    public static func roots(of failures: [Failure], dependencies: Dependencies) -> [Int64: Int64] {
        var byJobAndDate: [String: [Failure]] = [:]
        for failure in failures { byJobAndDate[failure.job + "\u{0}" + failure.date, default: []].append(failure) }
        for key in byJobAndDate.keys {
            byJobAndDate[key]!.sort { ($0.errorClass == .upstream ? 1 : 0, -$0.run) < ($1.errorClass == .upstream ? 1 : 0, -$1.run) }
        }
        var roots: [Int64: Int64] = [:]
        func root(_ failure: Failure, visiting: Set<Int64>) -> Int64 {
            if let known = roots[failure.run] { return known }
            guard failure.errorClass == .upstream, let job = JobName(failure.job) else { return failure.run }
            for upstream in dependencies.upstream(of: job) {
                guard let cause = byJobAndDate[upstream.rawValue + "\u{0}" + failure.date]?.first, !visiting.contains(cause.run) else { continue }
                let found = root(cause, visiting: visiting.union([failure.run]))
                roots[cause.run] = found
                return found
            }
            return failure.run
        }
        for failure in failures { roots[failure.run] = root(failure, visiting: []) }
        return roots
    }
}
