/// When a job runs, as its `schedule:` says: a systemd calendar expression, or cron.
public enum Schedule: Sendable, Equatable {
    case calendar(CalendarSpec)
    case cron(CronExpression)

    /// Five fields, or `@daily` and friends, are cron; anything else is a systemd expression.
    public static func parse(_ text: String) throws(CalendarError) -> Schedule {
        CronExpression.isCron(text) ? .cron(try CronExpression.parse(text)) : .calendar(try CalendarSpec.parse(text))
    }

    public var normalizedForm: String {
        switch self {
        case .calendar(let spec): spec.normalizedForm
        case .cron(let cron): cron.normalizedForm
        }
    }

    /// The zone the expression carries itself (` UTC`, ` Asia/Tokyo`), if any.
    public var ownZone: ZoneRules? {
        switch self {
        case .calendar(let spec): spec.utc ? .utc : spec.timezone.flatMap(ZoneRules.named)
        case .cron: nil
        }
    }

    public var hasFractionalSeconds: Bool {
        switch self {
        case .calendar(let spec): spec.hasFractionalSeconds
        case .cron: false
        }
    }

    /// The first elapse strictly after `after` (microseconds since the epoch), or nil.
    public func nextElapse(after: Int64, in zone: ZoneRules) -> Int64? {
        switch self {
        case .calendar(let spec): spec.nextElapse(after: after, in: zone)
        case .cron(let cron): cron.nextElapse(after: after, in: zone)
        }
    }
}
