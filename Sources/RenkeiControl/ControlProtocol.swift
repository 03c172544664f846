import Foundation

/// The control protocol between `renkeictl` and `renkeid`: over the Unix socket, the client sends
/// one JSON object on one line and the daemon answers with one JSON object on one line. `version`
/// lets either side refuse a peer it does not understand.
public enum ControlProtocol {
    public static let version = 1
    /// Longest request line the daemon reads; longer is an error reply, not a crash. (The
    /// daemon's other limits — time, connections — are its own: `ControlServer.Limits`.)
    public static let maximumRequestBytes = 64 * 1024

    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from line: Data) throws -> Value {
        try JSONDecoder().decode(type, from: line)
    }
}

/// What `renkeictl` asks.
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case status, jobs, run, rerun, rerunFailed = "rerun-failed", cancel, runState = "run-state", hold, release
    }

    public enum RerunMode: String, Codable, Sendable {
        /// From the step that failed, in the earlier run's work directory (the default).
        case fromFailed = "from-failed"
        /// Every step, in a fresh copy of the earlier run's work directory.
        case fromTop = "from-top"
        /// One step, named in `step`.
        case only
        /// From the step after the failed one, which the operator did by hand (recorded
        /// `skipped_by_operator`); needs a reason.
        case fromNext = "from-next"
    }

    public var version: Int = ControlProtocol.version
    public var operation: Operation
    public var job: String?
    public var run: Int64?
    public var logicalTime: String?
    public var reason: String?
    public var mode: RerunMode?
    public var step: String?
    public var force: Bool?
    public var since: String?
    public var until: String?
    public var yes: Bool?
    /// With `rerun`: also rerun, in dependency order, every job that depends on the run's job,
    /// for the same business date (`rerun --downstream`).
    public var downstream: Bool?

    public init(operation: Operation, job: String? = nil, run: Int64? = nil, logicalTime: String? = nil, reason: String? = nil,
                mode: RerunMode? = nil, step: String? = nil, force: Bool? = nil, since: String? = nil, until: String? = nil, yes: Bool? = nil) {
        self.operation = operation
        self.job = job
        self.run = run
        self.logicalTime = logicalTime
        self.reason = reason
        self.mode = mode
        self.step = step
        self.force = force
        self.since = since
        self.until = until
        self.yes = yes
    }

    /// Requests that change something; the others only read.
    public var isMutating: Bool {
        switch operation {
        case .run, .rerun, .cancel, .hold, .release: true
        case .rerunFailed: yes == true
        case .status, .jobs, .runState: false
        }
    }
}

/// What `renkeid` answers.
public struct ControlResponse: Codable, Sendable, Equatable {
    /// The exit status `renkeictl` should end with (SPEC: 0, 2 invalid, 4 refused, 5 no such job/run).
    public var exitStatus: Int32
    /// For the operator: what happened, and what to run next.
    public var message: String
    public var runs: [RunBrief]?
    public var jobs: [JobBrief]?
    public var plan: [PlanItem]?
    public var daemon: DaemonBrief?
    public var progress: RunProgress?

    public init(exitStatus: Int32 = 0, message: String, runs: [RunBrief]? = nil, jobs: [JobBrief]? = nil, plan: [PlanItem]? = nil,
                daemon: DaemonBrief? = nil, progress: RunProgress? = nil) {
        self.exitStatus = exitStatus
        self.message = message
        self.runs = runs
        self.jobs = jobs
        self.plan = plan
        self.daemon = daemon
        self.progress = progress
    }

    public static func error(_ status: Int32, _ message: String) -> ControlResponse {
        ControlResponse(exitStatus: status, message: message)
    }
}

public struct RunBrief: Codable, Sendable, Equatable {
    public var id: Int64
    public var job: String
    public var logicalTime: String
    public var trigger: String
    public var state: String

    public init(id: Int64, job: String, logicalTime: String, trigger: String, state: String) {
        self.id = id
        self.job = job
        self.logicalTime = logicalTime
        self.trigger = trigger
        self.state = state
    }
}

public struct JobBrief: Codable, Sendable, Equatable {
    public var name: String
    public var schedule: String?
    public var timezone: String
    public var nextRun: String?
    public var lastState: String?
    public var lastRun: Int64?
    /// Set while the job is held: by whom, until when, why.
    public var held: String?

    public init(name: String, schedule: String?, timezone: String, nextRun: String?, lastState: String?, lastRun: Int64?, held: String? = nil) {
        self.held = held
        self.name = name
        self.schedule = schedule
        self.timezone = timezone
        self.nextRun = nextRun
        self.lastState = lastState
        self.lastRun = lastRun
    }
}

public struct PlanItem: Codable, Sendable, Equatable {
    /// The failed run that would be rerun (the newest failed attempt of its logical time).
    public var run: Int64
    public var job: String
    public var logicalTime: String
    public var error: String
    public var from: String
    /// The rerun created, after `--yes`.
    public var rerun: Int64?

    public init(run: Int64, job: String, logicalTime: String, error: String, from: String, rerun: Int64? = nil) {
        self.run = run
        self.job = job
        self.logicalTime = logicalTime
        self.error = error
        self.from = from
        self.rerun = rerun
    }
}

public struct DaemonBrief: Codable, Sendable, Equatable {
    public var pid: Int32
    public var jobs: Int
    public var running: [RunBrief]
    public var queued: Int
    public var next: [String]
    /// Why the run store cannot be written, while it cannot (no run starts meanwhile).
    public var storage: String?
    /// Runs waiting for their upstreams (`after:`), with what they wait for in `state`.
    public var waiting: [RunBrief]?
    /// Held jobs: "juki-export, held by sato until 2026-12-02T06:00+09:00: ticket 4411".
    public var held: [String]?
    /// While notifications fail: "failing since 06:31:02: /usr/sbin/sendmail exited 75 — 3 waiting".
    public var notifications: String?

    public init(pid: Int32, jobs: Int, running: [RunBrief], queued: Int, next: [String], storage: String? = nil) {
        self.storage = storage
        self.pid = pid
        self.jobs = jobs
        self.running = running
        self.queued = queued
        self.next = next
    }
}

public struct RunProgress: Codable, Sendable, Equatable {
    public var id: Int64
    public var state: String
    public var steps: [StepProgress]
    public var message: String?
    /// Set while the daemon cannot write the run store: why, and what it knows of the run that
    /// is not on record yet. `run --wait` ends on it rather than wait for a row that cannot change.
    public var storage: String?

    public struct StepProgress: Codable, Sendable, Equatable {
        public var name: String
        public var state: String
        public init(name: String, state: String) {
            self.name = name
            self.state = state
        }
    }

    public init(id: Int64, state: String, steps: [StepProgress], message: String?, storage: String? = nil) {
        self.storage = storage
        self.id = id
        self.state = state
        self.steps = steps
        self.message = message
    }
}
