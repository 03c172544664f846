import RenkeiCore

/// Everything needed to run one step's process.
public struct StepInvocation: Sendable {
    /// argv, `${VAR}` already expanded; `arguments[0]` is the program.
    public var arguments: [String]
    /// The complete environment; nothing is inherited from the caller.
    public var environment: [String: String]
    /// The run's work directory; the process starts there.
    public var workingDirectory: String
    /// Where a relative program path such as `bin/export.sh` is looked up: the job file's directory.
    public var programDirectory: String
    /// The step's time limit, and what to call it when it is reached.
    public var timeout: JobDuration?
    /// Time between SIGTERM and SIGKILL to the process group.
    public var killGrace: JobDuration
    /// Bytes of each stream kept for the run record.
    public var tailCapacity: Int

    public init(arguments: [String], environment: [String: String], workingDirectory: String, programDirectory: String,
                timeout: JobDuration? = nil, killGrace: JobDuration = Job.defaultKillGrace, tailCapacity: Int = OutputTail.defaultCapacity) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.programDirectory = programDirectory
        self.timeout = timeout
        self.killGrace = killGrace
        self.tailCapacity = tailCapacity
    }
}

/// What became of one step's process.
public struct StepExecution: Sendable {
    public var termination: StepTermination
    /// The process id, if the process started.
    public var pid: Int32?
    public var stdout: OutputTail
    public var stderr: OutputTail
}

/// Receives each line of a step's output as it comes (the journal, in the daemon).
public typealias OutputLineSink = @Sendable (OutputStream, [UInt8]) -> Void
