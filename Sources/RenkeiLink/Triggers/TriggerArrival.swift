import RenkeiCore

/// One job's `trigger:` as the watcher needs it: the job, what its file says, and the zone in
/// which the day a file arrived is read (for a name that gives no date, and for a done file's
/// `{date:…}`).
public struct TriggerWatch: Sendable, Equatable {
    public var job: JobName
    public var trigger: FileTrigger
    /// IANA zone: the job's own, else the machine's.
    public var zoneIdentifier: String

    public init(job: JobName, trigger: FileTrigger, zoneIdentifier: String) {
        self.job = job
        self.trigger = trigger
        self.zoneIdentifier = zoneIdentifier
    }

    /// The watch a loaded job asks for, nil when it has no `trigger:`.
    public init?(_ job: Job, machineZone: String) {
        guard let trigger = job.trigger else { return nil }
        self.init(job: job.name, trigger: trigger, zoneIdentifier: job.timezone ?? machineZone)
    }
}

/// A file that arrived complete in a watched directory: what starts one run of `job`, once the
/// store has agreed that this content is new for the job.
public struct TriggerArrival: Sendable, Equatable {
    public var job: JobName
    /// The directory and the name, as the run gets it in `RENKEI_TRIGGER_FILE`.
    public var path: String
    /// Lower-case hex of the bytes as they were when the file was judged complete.
    public var sha256: String
    public var bytes: Int64
    /// The file's modification time, seconds since the epoch.
    public var modifiedAt: Double
    /// The date `date_from_name` reads in the name; nil without `date_from_name`, or when the
    /// name does not fit it (then the arrival's day is the logical date).
    public var logicalDate: JapaneseHolidays.Day?
    /// When the file got its present name and content (its inode's change time, never later than
    /// when the watcher saw it), seconds since the epoch. Survives a restart of renkeid: a file
    /// that arrived while it was stopped keeps the moment it arrived, not the moment it was seen.
    public var arrivedAt: Double
    /// `arrivedAt`'s day in the job's zone.
    public var arrivalDate: JapaneseHolidays.Day

    public init(job: JobName, path: String, sha256: String, bytes: Int64, modifiedAt: Double,
                logicalDate: JapaneseHolidays.Day?, arrivedAt: Double, arrivalDate: JapaneseHolidays.Day) {
        self.job = job
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
        self.modifiedAt = modifiedAt
        self.logicalDate = logicalDate
        self.arrivedAt = arrivedAt
        self.arrivalDate = arrivalDate
    }

    /// The date the run is for: the one in the name, else the day the file arrived.
    public var date: JapaneseHolidays.Day { logicalDate ?? arrivalDate }
}
