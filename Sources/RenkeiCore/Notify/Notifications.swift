/// Who is told what, and when — with no clock and no I/O. `DaemonCore` feeds it run ends, deadline
/// breaches and storage losses; it answers the `Notice`s to send, one per channel.
///
/// Rules:
/// - one incident per job and logical date: its first final failure is told once; later attempts
///   and reruns that fail again tell nothing more;
/// - an attempt that will be retried tells nothing, unless `on` has `retry`;
/// - a success for a date whose failure was told sends `recovered`; one that was not told (a retry
///   recovered it) sends nothing;
/// - at each `unresolved_at` time, a reminder lists the told failures still unresolved;
/// - a send that failed is tried again after the `retry` policy's wait, up to its limit.
public struct Notifications: Sendable {
    /// `notify:` of renkei.yaml; nil: nothing is told.
    public private(set) var settings: NotifySettings?
    /// Each job's own `notify:`.
    public private(set) var jobs: [JobName: JobNotify] = [:]
    /// Each job's zone (ISO times and dates of deadline notices), and the machine's (reminders).
    public private(set) var zones: [JobName: String] = [:]
    public private(set) var machineZone = "UTC"
    /// Open incidents, by job and logical date.
    public private(set) var incidents: [IncidentKey: Incident] = [:]
    /// Sends that failed and wait for their next try, by notice id; and those under way.
    public private(set) var retries: [Int: (notice: Notice, at: Instant)] = [:]
    public private(set) var sending: [Int: Notice] = [:]
    /// Since when sends fail, and the last failure's words; nil while they succeed.
    public private(set) var failing: (since: Instant, message: String)?
    /// When the next reminder is due.
    public private(set) var nextReminder: Instant?
    private var nextID = 1

    public struct IncidentKey: Hashable, Sendable {
        public var job: JobName
        public var date: String
    }

    public struct Incident: Sendable, Equatable {
        /// The newest failed attempt's facts.
        public var facts: NoticeRun?
        /// A notice about it went out: its end is told as `recovered`.
        public var told: Bool
        /// No retry follows: it waits for an operator (reminders list it).
        public var final: Bool
    }

    public init() {}

    /// Settings from renkei.yaml and the job files; on every start and reload.
    public mutating func configure(_ settings: NotifySettings?, jobs: [JobName: JobNotify], zones: [JobName: String], machineZone: String, now: Instant) {
        self.settings = settings
        self.jobs = jobs
        self.zones = zones
        self.machineZone = machineZone
        nextReminder = reminder(after: now)
    }

    /// Sends waiting or failing: for the status line.
    public var waitingCount: Int { retries.count }

    public func nextWakeUp() -> Instant? {
        ([nextReminder] + retries.values.map(\.at)).compactMap { $0 }.min()
    }

    // MARK: - What the store knows

    /// The failures the store holds unresolved, each with whether a notice about it went out
    /// (the store's `notification` rows): on every start and before each reminder, so that a
    /// restart forgets no incident and a failure an operator resolved otherwise than by a
    /// successful run (`rerun --from-next`, another run's success) is not listed again.
    /// Incidents of this process that the store no longer holds unresolved are dropped; those it
    /// holds are added (a retry still to come is kept as it is).
    public mutating func unresolvedInStore(_ failures: [(facts: NoticeRun, told: Bool)]) {
        var open: [IncidentKey: Incident] = [:]
        for (facts, told) in failures {
            let key = IncidentKey(job: facts.job, date: facts.logicalDate)
            if let known = incidents[key] {
                open[key] = known
            } else if open[key] == nil {
                open[key] = Incident(facts: facts, told: told, final: true)
            }
        }
        // An attempt a retry will follow is not a failure the store calls unresolved yet.
        for (key, incident) in incidents where !incident.final && open[key] == nil { open[key] = incident }
        incidents = open
    }

    /// A reminder is due at `now`: the moment to ask the store what is still unresolved.
    public func reminderDue(now: Instant) -> Bool {
        guard let at = nextReminder else { return false }
        return at <= now
    }

    // MARK: - What happened

    /// A run ended and its row is written.
    public mutating func runEnded(_ facts: NoticeRun) -> [Notice] {
        let key = IncidentKey(job: facts.job, date: facts.logicalDate)
        switch facts.state {
        case .succeeded:
            guard let incident = incidents.removeValue(forKey: key), incident.told else { return [] }
            var recovered = facts
            recovered.since = incident.facts?.since ?? facts.since
            return tell(.recovered, about: facts.job, .run(.recovered, recovered))
        case .failed, .timedOut, .interrupted:
            var incident = incidents[key] ?? Incident(facts: nil, told: false, final: false)
            var current = facts
            current.since = incident.facts?.since ?? facts.since
            incident.facts = current
            incident.final = !facts.willRetry
            var notices: [Notice] = []
            if !incident.told {
                let event: NotifyEvent = facts.willRetry ? .retry : .failure(facts.errorClass)
                notices = tell(event, about: facts.job, .run(event, current))
                incident.told = !notices.isEmpty
            }
            incidents[key] = incident
            return notices
        default:
            return []
        }
    }

    /// A slot's run had not started or finished by its deadline.
    public mutating func deadlineBreached(_ breach: DeadlineBreach) -> [Notice] {
        let zone = zones[breach.job] ?? machineZone
        let logical = LogicalTime(breach.logicalTime, zoneIdentifier: zone)
        let facts = DeadlineFacts(job: breach.job, logicalTime: logical.iso8601, logicalDate: logical.date,
                                  deadline: LogicalTime(breach.deadline, zoneIdentifier: zone).iso8601, kind: breach.kind)
        let key = IncidentKey(job: breach.job, date: logical.date)
        var incident = incidents[key] ?? Incident(facts: nil, told: false, final: false)
        guard !incident.told else { return [] }
        let notices = tell(.deadline, about: breach.job, .deadline(facts))
        incident.told = !notices.isEmpty
        if incident.told { incidents[key] = incident }
        return notices
    }

    /// The store cannot be written (told once per outage).
    public mutating func storageLost(_ problem: StorageProblem, now: Instant) -> [Notice] {
        tell(.storage, about: nil, .storage(problem: problem.description, since: now))
    }

    /// Reminders and retries due at `now`.
    public mutating func due(now: Instant) -> [Notice] {
        var notices: [Notice] = []
        for (id, entry) in retries.sorted(by: { $0.key < $1.key }) where entry.at <= now {
            retries[id] = nil
            sending[id] = entry.notice
            notices.append(entry.notice)
        }
        if let at = nextReminder, at <= now {
            nextReminder = reminder(after: now)
            let open = incidents.values.filter { $0.final && $0.told }.compactMap(\.facts).sorted { ($0.since, $0.run) < ($1.since, $1.run) }
            if !open.isEmpty, let settings {
                notices += channels(settings, extra: open.flatMap { jobs[$0.job]?.to ?? [] }).map { record(Notice(id: 0, channel: $0, subject: .reminder(open))) }
            }
        }
        return notices
    }

    /// How a send ended, as far as the daemon must know.
    public enum SendResult: Sendable, Equatable {
        case sent
        /// Failed and will be tried again at `at`; or not again (`at` nil: the retry limit is reached).
        case willRetry(at: Instant?)
    }

    /// A send ended: `failure` nil when it succeeded, else what went wrong. A failure is tried
    /// again (answered by `due` when its time comes) until the retry limit.
    public mutating func sendEnded(id: Int, failure: String?, now: Instant) -> SendResult {
        guard let notice = sending.removeValue(forKey: id) else { return .sent }
        guard let failure else {
            if retries.isEmpty { failing = nil }
            return .sent
        }
        if failing == nil { failing = (now, failure) } else { failing!.message = failure }
        let policy = settings?.retry ?? NotifySettings.defaultRetry
        guard notice.attempt <= policy.limit else {
            if retries.isEmpty && sending.isEmpty { failing = nil }
            return .willRetry(at: nil)
        }
        var again = notice
        again.attempt += 1
        let at = now + .seconds(policy.delay(beforeRetry: notice.attempt).seconds)
        retries[id] = (again, at)
        return .willRetry(at: at)
    }

    // MARK: - Internals

    /// The notices for `event` about `job`, one per configured channel, if `on` includes it.
    private mutating func tell(_ event: NotifyEvent, about job: JobName?, _ subject: NoticeSubject) -> [Notice] {
        guard let settings else { return [] }
        let own = job.flatMap { jobs[$0] }
        guard (own?.on ?? settings.on).contains(event) else { return [] }
        return channels(settings, extra: own?.to ?? []).map { record(Notice(id: 0, channel: $0, subject: subject)) }
    }

    private func channels(_ settings: NotifySettings, extra: [String]) -> [NoticeChannel] {
        var channels: [NoticeChannel] = []
        if let mail = settings.mail {
            var to = mail.to
            for address in extra where !to.contains(address) { to.append(address) }
            channels.append(.mail(to: to))
        }
        if settings.command != nil { channels.append(.command) }
        return channels
    }

    private mutating func record(_ notice: Notice) -> Notice {
        var numbered = notice
        numbered.id = nextID
        nextID += 1
        sending[numbered.id] = numbered
        return numbered
    }

    /// The next `unresolved_at` time after `now`, in the machine's zone.
    func reminder(after now: Instant) -> Instant? {
        guard let times = settings?.unresolvedAt, !times.isEmpty else { return nil }
        let zone = ZoneRules.named(machineZone) ?? .utc
        let today = WallClock(zone: zone).localTime(now.secondsSinceEpoch)
        var best: Instant?
        for dayOffset in 0...1 {
            for time in times {
                var fields = BrokenDownTime(year: today.year, month: today.month, day: today.day + dayOffset, hour: time.hour, minute: time.minute, second: time.second)
                var clock = WallClock(zone: zone)
                let at = Instant(secondsSinceEpoch: clock.makeTime(&fields))
                if at > now, best.map({ at < $0 }) ?? true { best = at }
            }
        }
        return best
    }
}
