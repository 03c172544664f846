/// What one job looks like to monitoring, as the store has it.
public struct JobFigures: Sendable, Equatable {
    /// End of its newest succeeded run, seconds since the epoch; nil: it never succeeded.
    public var lastSuccess: Double?
    /// End of its newest failed, timed-out or interrupted run; nil: none on record.
    public var lastFailure: Double?
    /// Failures nobody has resolved yet (`renkeictl report` lists them).
    public var unresolved: Int = 0
    /// Start to end of its newest finished run, in seconds.
    public var lastDuration: Double?
    /// Whether a run of it is running now.
    public var running: Bool = false
    /// Runs on record by state.
    public var runs: [RunState: Int] = [:]

    public init(lastSuccess: Double? = nil, lastFailure: Double? = nil, unresolved: Int = 0, lastDuration: Double? = nil,
                running: Bool = false, runs: [RunState: Int] = [:]) {
        self.lastSuccess = lastSuccess
        self.lastFailure = lastFailure
        self.unresolved = unresolved
        self.lastDuration = lastDuration
        self.running = running
        self.runs = runs
    }
}

/// The figures renkeid publishes, in Prometheus' text exposition format (version 0.0.4), as
/// node_exporter's textfile collector reads it. Pure: the caller gathers the figures.
public struct MetricsExposition: Sendable, Equatable {
    /// Each job's figures, by job name.
    public var jobs: [String: JobFigures]
    /// When renkeid started, seconds since the epoch.
    public var daemonStart: Double
    /// Whether renkeid can write its run store now.
    public var storeWritable: Bool

    public init(jobs: [String: JobFigures], daemonStart: Double, storeWritable: Bool) {
        self.jobs = jobs
        self.daemonStart = daemonStart
        self.storeWritable = storeWritable
    }

    /// States counted by `renkei_runs_total`: every state a run ends in, so that each series
    /// exists from the start (a counter that appears late hides its first increase from rate()).
    public static let countedStates: [RunState] = [.succeeded, .failed, .timedOut, .cancelled, .interrupted, .missed, .skipped]

    public var text: String {
        let names = jobs.keys.sorted()
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        func perJob(_ value: (JobFigures) -> String?) -> [(labels: String, value: String)] {
            names.compactMap { name in value(jobs[name]!).map { ("{renkei_job=\"\(Self.escape(name))\"}", $0) } }
        }
        family("renkei_job_last_success_timestamp_seconds", "gauge",
               "End of the job's newest succeeded run, in seconds since the epoch (absent: never succeeded).",
               perJob { $0.lastSuccess.map(Self.number) })
        family("renkei_job_last_failure_timestamp_seconds", "gauge",
               "End of the job's newest failed, timed-out or interrupted run, in seconds since the epoch (absent: none on record).",
               perJob { $0.lastFailure.map(Self.number) })
        family("renkei_job_unresolved_failures", "gauge",
               "Failed runs of the job that no later run resolved (renkeictl report lists them with their rerun command).",
               perJob { String($0.unresolved) })
        family("renkei_job_last_duration_seconds", "gauge",
               "Start to end of the job's newest finished run, in seconds.",
               perJob { $0.lastDuration.map(Self.number) })
        family("renkei_job_running", "gauge",
               "1 while a run of the job is running, else 0.",
               perJob { $0.running ? "1" : "0" })
        family("renkei_runs_total", "counter",
               "Runs and slots of the job on record, by the state they ended in (retention may lower it: read as a counter reset).",
               names.flatMap { name in
                   Self.countedStates.map { state in
                       ("{renkei_job=\"\(Self.escape(name))\",state=\"\(state.rawValue)\"}", String(jobs[name]!.runs[state] ?? 0))
                   }
               })
        family("renkei_daemon_start_time_seconds", "gauge",
               "When renkeid started, in seconds since the epoch.", [("", Self.number(daemonStart))])
        family("renkei_store_writable", "gauge",
               "1 when renkeid can write its run store, 0 while it cannot (no run starts then).", [("", storeWritable ? "1" : "0")])
        return out
    }

    /// A label value as the exposition format quotes it.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Whole seconds without a fraction, others with milliseconds.
    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String((value * 1000).rounded() / 1000)
    }
}
