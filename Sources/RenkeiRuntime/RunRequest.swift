import RenkeiCore

/// Someone's ask for one run of one job.
public struct RunRequest: Sendable {
    public var job: LoadedJob
    public var logicalTime: LogicalTime
    public var trigger: Trigger
    public var attempt: Int
    /// For manual runs and reruns.
    public var requestedBy: Requester?
    public var reason: String?
    public var rerunOf: Int64?
    public var retryOf: Int64?

    public init(job: LoadedJob, logicalTime: LogicalTime, trigger: Trigger, attempt: Int = 1, requestedBy: Requester? = nil,
                reason: String? = nil, rerunOf: Int64? = nil, retryOf: Int64? = nil) {
        self.job = job
        self.logicalTime = logicalTime
        self.trigger = trigger
        self.attempt = attempt
        self.requestedBy = requestedBy
        self.reason = reason
        self.rerunOf = rerunOf
        self.retryOf = retryOf
    }
}

/// A person (or the account) that asked for a run.
public struct Requester: Sendable, Equatable {
    public var uid: UInt32
    public var userName: String

    public init(uid: UInt32, userName: String) {
        self.uid = uid
        self.userName = userName
    }
}
