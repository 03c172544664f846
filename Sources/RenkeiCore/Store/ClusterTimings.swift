/// How often nodes on one PostgreSQL renew the leader lease and beat their heart, and how long
/// silence lasts before the others act. All judged on the database's clock, except the leader's
/// trust window, which runs on its own monotonic clock from the start of its last good renewal.
///
/// The values must fit together, or two copies of a run (or two leaders) can exist at once;
/// `validated()` says which flag to change when they do not. Defaults are the design memo's
/// (`docs/postgresql.md`): lease 15s renewed every 5s, heartbeat 5s, dead after 30s,
/// self-fence after 20s, kill grace 10s, retry grace 10s.
public struct ClusterTimings: Sendable, Equatable {
    /// How long a renewal keeps the lease (`--lease-ttl`).
    public var leaseTTL: JobDuration
    /// How often the holder renews it (`--lease-renew`).
    public var leaseRenewal: JobDuration
    /// How long before the lease's end the leader stops acting on its own, however the last
    /// renewal went: covers the time the renewal's answer took to arrive (`--lease-margin`).
    public var leaseMargin: JobDuration
    /// How often each node stamps its heartbeat (`--heartbeat`).
    public var heartbeat: JobDuration
    /// Silence after which the leader declares a node dead and interrupts its runs (`--dead-after`).
    public var deadAfter: JobDuration
    /// Silence after which a node that cannot stamp its heartbeat stops its own steps (`--self-fence-after`).
    public var selfFenceAfter: JobDuration
    /// SIGTERM → SIGKILL grace of the self-fence (the job's `kill_grace` is capped to it).
    public var killGrace: JobDuration
    /// Wait after declaring a node dead before its runs are retried elsewhere (`--retry-grace`).
    public var retryGrace: JobDuration

    public static let standard = ClusterTimings(
        leaseTTL: .init(seconds: 15), leaseRenewal: .init(seconds: 5), leaseMargin: .init(seconds: 1),
        heartbeat: .init(seconds: 5), deadAfter: .init(seconds: 30), selfFenceAfter: .init(seconds: 20),
        killGrace: .init(seconds: 10), retryGrace: .init(seconds: 10))

    public init(leaseTTL: JobDuration, leaseRenewal: JobDuration, leaseMargin: JobDuration, heartbeat: JobDuration,
                deadAfter: JobDuration, selfFenceAfter: JobDuration, killGrace: JobDuration, retryGrace: JobDuration) {
        self.leaseTTL = leaseTTL
        self.leaseRenewal = leaseRenewal
        self.leaseMargin = leaseMargin
        self.heartbeat = heartbeat
        self.deadAfter = deadAfter
        self.selfFenceAfter = selfFenceAfter
        self.killGrace = killGrace
        self.retryGrace = retryGrace
    }

    /// How long after the start of a good renewal the leader may go on acting without another.
    public var trustWindow: JobDuration { JobDuration(seconds: leaseTTL.seconds - leaseMargin.seconds) }

    /// The same timings, or the first rule they break, for renkeid to refuse to start with.
    public func validated() throws(ClusterTimingsProblem) -> ClusterTimings {
        let positive: [(String, JobDuration)] = [
            ("--lease-ttl", leaseTTL), ("--lease-renew", leaseRenewal), ("--lease-margin", leaseMargin),
            ("--heartbeat", heartbeat), ("--dead-after", deadAfter), ("--self-fence-after", selfFenceAfter),
            ("--retry-grace", retryGrace),
        ]
        for (flag, value) in positive where value.seconds == 0 {
            throw ClusterTimingsProblem(flags: [flag], reason: "\(flag) is 0s: it must be at least 1s")
        }
        if leaseTTL.seconds < 3 * leaseRenewal.seconds {
            throw ClusterTimingsProblem(
                flags: ["--lease-ttl", "--lease-renew"],
                reason: "--lease-ttl \(leaseTTL) is shorter than 3 × --lease-renew \(leaseRenewal): one slow renewal would hand the lease to another node while this one still leads; raise --lease-ttl to at least \(JobDuration(seconds: 3 * leaseRenewal.seconds)) or renew more often")
        }
        if trustWindow <= leaseRenewal {
            throw ClusterTimingsProblem(
                flags: ["--lease-margin"],
                reason: "--lease-margin \(leaseMargin) leaves a trust window of \(trustWindow), not longer than --lease-renew \(leaseRenewal): the leader would stop leading before its next renewal; lower --lease-margin")
        }
        if deadAfter.seconds < 3 * heartbeat.seconds {
            throw ClusterTimingsProblem(
                flags: ["--dead-after", "--heartbeat"],
                reason: "--dead-after \(deadAfter) is shorter than 3 × --heartbeat \(heartbeat): two late heartbeats would get a live node declared dead and its runs started twice; raise --dead-after to at least \(JobDuration(seconds: 3 * heartbeat.seconds))")
        }
        if selfFenceAfter <= heartbeat {
            throw ClusterTimingsProblem(
                flags: ["--self-fence-after", "--heartbeat"],
                reason: "--self-fence-after \(selfFenceAfter) is not longer than --heartbeat \(heartbeat): a node would stop its steps between two ordinary heartbeats")
        }
        if selfFenceAfter.seconds + killGrace.seconds > deadAfter.seconds + retryGrace.seconds {
            throw ClusterTimingsProblem(
                flags: ["--self-fence-after", "--dead-after", "--retry-grace"],
                reason: "--self-fence-after \(selfFenceAfter) + kill grace \(killGrace) is longer than --dead-after \(deadAfter) + --retry-grace \(retryGrace): a cut-off node's steps could still run when their retry starts on another node; make --self-fence-after shorter or --retry-grace longer")
        }
        return self
    }
}

/// Timings that do not fit together, naming the flags to change.
public struct ClusterTimingsProblem: Error, Equatable, CustomStringConvertible {
    public var flags: [String]
    public var reason: String
    public var description: String { reason }
}
