/// The date a run is for, in its job's zone: how a chain matches an upstream's run with its
/// downstream's (a 06:30 export and a 09:00 import of the same day).
public typealias BusinessDate = JapaneseHolidays.Day

extension JapaneseHolidays.Day {
    /// The date of `instant` on the wall clock of `zone`.
    public init(_ instant: Instant, in zone: ZoneRules) {
        let local = WallClock(zone: zone).localTime(instant.secondsSinceEpoch)
        self.init(year: local.year, month: local.month + 1, day: local.day)
    }
}

/// Which jobs wait for which, by business date, with no clock and no I/O: what the upstreams of
/// each job did for each date, and the runs waiting for them. `DaemonCore` asks it what a slot
/// of a job with `after:` may do, and tells it every run's end.
public struct Chains: Sendable {
    /// A job's place in the chains.
    public struct Link: Sendable, Equatable {
        public var upstreams: [JobName]
        /// How long a slot waits for its upstreams before it fails with class `upstream`.
        public var wait: Duration
        /// A job without a schedule runs once its upstreams all succeeded for a date.
        public var scheduled: Bool
        public var zone: ZoneRules

        public init(upstreams: [JobName], wait: Duration, scheduled: Bool, zone: ZoneRules) {
            self.upstreams = upstreams
            self.wait = wait
            self.scheduled = scheduled
            self.zone = zone
        }

        public static func == (a: Link, b: Link) -> Bool {
            a.upstreams == b.upstreams && a.wait == b.wait && a.scheduled == b.scheduled && a.zone.identifier == b.zone.identifier
        }
    }

    /// A run recorded `waiting` for its upstreams.
    public struct Wait: Sendable, Equatable {
        public var run: RunID
        public var planned: PlannedRun
        /// When it gives up (`after_wait` after its slot).
        public var until: Instant
    }

    /// What one job's runs did for one date, as far as a chain cares.
    public struct DayResult: Sendable, Equatable {
        /// The logical time of its last successful run that day, if any.
        public var succeeded: Instant?
        /// Its last run that did not succeed, if any (named when a downstream gives up).
        public var failedRun: RunID?
        /// A run of it exists or is running that day (for jobs without a schedule: run once).
        public var ran = false
    }

    public private(set) var links: [JobName: Link] = [:]
    /// Downstream jobs of each job.
    public private(set) var downstreams: [JobName: [JobName]] = [:]
    /// Results by job and date, of jobs that something depends on or that depend on something.
    public private(set) var days: [JobName: [BusinessDate: DayResult]] = [:]
    /// Runs waiting, by job and date.
    public private(set) var waits: [JobName: [BusinessDate: Wait]] = [:]
    /// Zones of jobs that are only upstreams (their dates are their own zone's).
    var zones: [JobName: ZoneRules] = [:]

    public init() {}

    // MARK: - Definitions

    /// Sets the jobs' links; `zones` gives every job's zone (upstreams' dates are in their own).
    public mutating func define(_ links: [JobName: Link], zones: [JobName: ZoneRules]) {
        self.links = links.filter { !$0.value.upstreams.isEmpty }
        self.zones = zones
        var downstreams: [JobName: [JobName]] = [:]
        for (job, link) in self.links {
            for upstream in link.upstreams { downstreams[upstream, default: []].append(job) }
        }
        self.downstreams = downstreams.mapValues { $0.sorted() }
    }

    public func date(of job: JobName, at instant: Instant) -> BusinessDate {
        BusinessDate(instant, in: links[job]?.zone ?? zones[job] ?? .utc)
    }

    /// Whether `job` takes part in a chain.
    public func isChained(_ job: JobName) -> Bool { links[job] != nil || downstreams[job] != nil }

    // MARK: - What happened

    /// A run of `job` for `logical` ended (or, at start-up, is on record as ended) in `state`.
    public mutating func ended(_ job: JobName, logical: Instant, run: RunID, state: RunState) {
        guard isChained(job) else { return }
        let date = self.date(of: job, at: logical)
        var day = days[job]?[date] ?? DayResult()
        day.ran = true
        if state == .succeeded {
            day.succeeded = max(day.succeeded ?? logical, logical)
        } else if state.isFailure {
            day.failedRun = run
        }
        days[job, default: [:]][date] = day
    }

    /// A run of `job` for `logical` was started or recorded (so a job without a schedule runs once a date).
    public mutating func ran(_ job: JobName, logical: Instant) {
        guard isChained(job) else { return }
        days[job, default: [:]][date(of: job, at: logical), default: DayResult()].ran = true
    }

    public mutating func waiting(_ wait: Wait) {
        waits[wait.planned.job, default: [:]][date(of: wait.planned.job, at: wait.planned.logicalTime)] = wait
    }

    public mutating func removeWait(_ job: JobName, _ date: BusinessDate) -> Wait? {
        waits[job]?.removeValue(forKey: date)
    }

    // MARK: - Questions

    /// The upstreams of `job` that have not succeeded for `date`.
    public func missing(_ job: JobName, _ date: BusinessDate) -> [JobName] {
        (links[job]?.upstreams ?? []).filter { days[$0]?[date]?.succeeded == nil }
    }

    /// Downstreams of `upstream` that may go now for `date`: waiting runs whose upstreams all
    /// succeeded, and jobs without a schedule whose upstreams all succeeded and that did not run
    /// that day (with the logical time they get: the latest of their upstreams').
    public func ready(after upstream: JobName, _ date: BusinessDate) -> (waits: [Wait], unscheduled: [(job: JobName, logical: Instant)]) {
        var waits: [Wait] = [], unscheduled: [(JobName, Instant)] = []
        for job in downstreams[upstream] ?? [] where missing(job, date).isEmpty {
            if let wait = self.waits[job]?[date] {
                waits.append(wait)
            } else if let link = links[job], !link.scheduled, days[job]?[date]?.ran != true {
                let logical = link.upstreams.compactMap { days[$0]?[date]?.succeeded }.max()!
                unscheduled.append((job, logical))
            }
        }
        return (waits, unscheduled)
    }

    /// Jobs without a schedule whose upstreams all succeeded for a date they did not run on (their
    /// start was lost: renkeid stopped between the upstream's end and their start), with the
    /// logical time they get. Asked once, after a restart.
    public func owedUnscheduled() -> [(job: JobName, logical: Instant)] {
        var owed: [(JobName, Instant)] = []
        for (job, link) in links.sorted(by: { $0.key < $1.key }) where !link.scheduled {
            let dates = Set(link.upstreams.flatMap { days[$0].map { Array($0.keys) } ?? [] })
            for date in dates.sorted() where days[job]?[date]?.ran != true && missing(job, date).isEmpty {
                owed.append((job, link.upstreams.compactMap { days[$0]?[date]?.succeeded }.max()!))
            }
        }
        return owed
    }

    /// Waits whose `after_wait` has passed at `now`.
    public func expired(at now: Instant) -> [Wait] {
        waits.values.flatMap(\.values).filter { $0.until <= now }.sorted { ($0.until, $0.run) < ($1.until, $1.run) }
    }

    /// When the next wait gives up.
    public var nextExpiry: Instant? { waits.values.flatMap(\.values).map(\.until).min() }

    /// Why a wait gave up, for the run's row: each upstream that failed (with its run) or never
    /// succeeded.
    public func whyUpstreamFailed(_ wait: Wait) -> String {
        let job = wait.planned.job
        let date = self.date(of: job, at: wait.planned.logicalTime)
        let parts = missing(job, date).map { upstream -> String in
            if let failed = days[upstream]?[date]?.failedRun { return "\(upstream) failed (run \(failed); renkeictl show \(failed))" }
            if days[upstream]?[date]?.ran == true { return "\(upstream) has not succeeded yet" }
            return "\(upstream) has not run"
        }
        return "upstream not done for \(date) after waiting \(Self.text(links[job]?.wait ?? .zero)): " + parts.joined(separator: "; ")
    }

    /// "6h", "2h30m", "45s".
    public static func text(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60)
        return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (s > 0 || seconds == 0 ? "\(s)s" : "")
    }
}
