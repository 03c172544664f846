/// A place in a job file: 1-based line and column, as `JobFileProblem` prints them.
public struct SourcePosition: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// No place: a job built in code, not read from a file (prints as 1:1).
    public static let none = SourcePosition(line: 0, column: 0)
}

/// Where a job file wrote the values that are checked only once all jobs are loaded (the jobs
/// named in `after:`) or against the file system (`trigger.path`), so those problems point at
/// the right line too.
public struct JobFilePositions: Sendable, Equatable {
    /// Each name of `after:`, where it is written.
    public var after: [JobName: SourcePosition]
    /// The value of `trigger.path`.
    public var triggerPath: SourcePosition?

    public init(after: [JobName: SourcePosition] = [:], triggerPath: SourcePosition? = nil) {
        self.after = after
        self.triggerPath = triggerPath
    }
}
