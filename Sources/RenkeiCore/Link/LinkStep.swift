/// A built-in step: Renkei itself moves the link's files, knowing what it took in and what it
/// handed over. Written in a job file as `receive:` or `deliver:` instead of `run:`. Values are as
/// the job file wrote them: `${VAR}` and `{date:…}` are filled in when the run starts
/// (`LinkStepResolution`).
public enum LinkStep: Sendable, Equatable {
    case receive(Receive)
    case deliver(Deliver)

    /// The job-file key: `receive`, `deliver`.
    public var verb: String {
        switch self {
        case .receive: "receive"
        case .deliver: "deliver"
        }
    }

    /// `receive:` — take one input file from a source directory into the run's work directory.
    public struct Receive: Sendable, Equatable {
        /// The source directory; relative to the work directory unless absolute.
        public var from: String
        /// The file's name, a `FilePattern`; exactly one file must match.
        public var file: String
        /// How Renkei knows the sender has finished writing it.
        public var completeWhen: Completion
        /// When waiting for the file ends with `late`; nil: the file must be there when the step starts.
        public var waitUntil: WaitLimit?
        /// Copy the file, or move it (the source is removed once the copy is safely on disk).
        public var take: Take
        /// What receiving content already received for another logical date does.
        public var onDuplicate: OnDuplicate

        public init(from: String, file: String, completeWhen: Completion, waitUntil: WaitLimit? = nil, take: Take = .copy, onDuplicate: OnDuplicate = .fail) {
            self.from = from
            self.file = file
            self.completeWhen = completeWhen
            self.waitUntil = waitUntil
            self.take = take
            self.onDuplicate = onDuplicate
        }
    }

    /// `deliver:` — hand a file over to a target directory, whole or not at all.
    public struct Deliver: Sendable, Equatable {
        /// The file to hand over; relative to the work directory unless absolute.
        public var file: String
        /// The target directory, which the target system owns: Renkei never creates it.
        public var to: String
        /// The name in the target directory, a `FilePattern` without wildcards; nil keeps the file's own name.
        public var name: String?
        /// What an existing file of that name in the target directory does.
        public var ifExists: IfExists
        /// With `keep`: how many earlier versions (`NAME.1` … `NAME.N`) stay.
        public var generations: Int
        /// A file written after the delivered file is in place, for the target system to wait on.
        public var doneFile: String?
        /// Permission bits of the delivered file (and its done file).
        public var mode: UInt32

        public init(file: String, to: String, name: String? = nil, ifExists: IfExists = .fail, generations: Int = Deliver.defaultGenerations,
                    doneFile: String? = nil, mode: UInt32 = Deliver.defaultMode) {
            self.file = file
            self.to = to
            self.name = name
            self.ifExists = ifExists
            self.generations = generations
            self.doneFile = doneFile
            self.mode = mode
        }

        public static let defaultGenerations = 3
        /// Owner reads and writes, the group reads: delivered files hold residents' data.
        public static let defaultMode: UInt32 = 0o640
    }

    /// `complete_when:`.
    public enum Completion: Sendable, Equatable {
        /// The sender writes this file (a `FilePattern`) after the data file is complete.
        case doneFile(String)
        /// Size and modification time unchanged this long, and no process has the file open for writing.
        case stable(JobDuration)
    }

    /// `wait_until:`: a local time on the slot's day, or a time after the step starts.
    public enum WaitLimit: Sendable, Equatable {
        case at(TimeOfDay)
        case after(JobDuration)
    }

    public enum Take: String, Sendable, Codable, CaseIterable {
        case copy
        case move
    }

    public enum OnDuplicate: String, Sendable, Codable, CaseIterable {
        /// The step fails with error class `duplicate`.
        case fail
        /// The file is received all the same (and recorded as a duplicate).
        case accept
    }

    public enum IfExists: String, Sendable, Codable, CaseIterable {
        /// The step fails; the file in the target directory stays as it is.
        case fail
        /// The new file takes its place in one rename.
        case replace
        /// The old one is kept as `NAME.1` (older ones move up to `NAME.<generations>`).
        case keep
    }
}
