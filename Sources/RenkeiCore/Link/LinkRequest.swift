/// What a built-in step's process is asked to do, with every value already resolved: absolute
/// paths, `{date:…}` filled in, the time to wait until as an instant, and what the store knows of
/// earlier files. The run's runner writes it as JSON into the work directory and starts
/// `renkeictl link-step FILE`; the process answers with a `LinkResult` at `resultPath`.
///
/// The process never opens the store: the runner reads it before and records the answer after,
/// so one place writes runs and files, whichever store backs them.
public struct LinkRequest: Codable, Sendable, Equatable {
    public var job: String
    /// Nil when a person runs the step by hand outside any run (`renkeictl step`).
    public var runID: Int64?
    public var step: String
    /// `2026-12-01`, the logical date in the job's zone; what receipts are kept by.
    public var logicalDate: String
    /// The run's work directory (absolute).
    public var workDirectory: String
    public var receive: Receive?
    public var deliver: Deliver?
    public var check: Check?
    public var convert: Convert?
    /// For `receive`: files this job received for *other* logical dates. For `deliver`: files this
    /// job delivered for *this* logical date.
    public var receipts: [Receipt]
    /// The run is a rerun asked for with `--force` and a reason: different content may replace
    /// what was delivered for this date.
    public var force: Bool
    /// Where the answer goes (absolute).
    public var resultPath: String

    public init(job: String, runID: Int64?, step: String, logicalDate: String, workDirectory: String, receive: Receive? = nil,
                deliver: Deliver? = nil, check: Check? = nil, convert: Convert? = nil, receipts: [Receipt] = [], force: Bool = false, resultPath: String) {
        self.check = check
        self.convert = convert
        self.job = job
        self.runID = runID
        self.step = step
        self.logicalDate = logicalDate
        self.workDirectory = workDirectory
        self.receive = receive
        self.deliver = deliver
        self.receipts = receipts
        self.force = force
        self.resultPath = resultPath
    }

    public struct Receive: Codable, Sendable, Equatable {
        /// Absolute source directory.
        public var directory: String
        /// Glob (`*`, `?`) the data file's name must match; `{date:…}` already filled in.
        public var pattern: String
        /// With `complete_when: done_file`: the done file's name glob. Nil means `stable`.
        public var doneFilePattern: String?
        /// With `complete_when: stable`: seconds the file's size and mtime must stay unchanged.
        public var stableForSeconds: Double?
        /// Seconds since the epoch at which waiting ends with `late`; nil: no waiting for arrival.
        public var waitUntil: Double?
        /// How `waitUntil` reads for the operator: `07:00`, `2h after the step started`.
        public var waitUntilText: String?
        public var take: LinkStep.Take
        public var onDuplicate: LinkStep.OnDuplicate

        public init(directory: String, pattern: String, doneFilePattern: String? = nil, stableForSeconds: Double? = nil, waitUntil: Double? = nil,
                    waitUntilText: String? = nil, take: LinkStep.Take = .copy, onDuplicate: LinkStep.OnDuplicate = .fail) {
            self.directory = directory
            self.pattern = pattern
            self.doneFilePattern = doneFilePattern
            self.stableForSeconds = stableForSeconds
            self.waitUntil = waitUntil
            self.waitUntilText = waitUntilText
            self.take = take
            self.onDuplicate = onDuplicate
        }
    }

    public struct Deliver: Codable, Sendable, Equatable {
        /// Absolute path of the file to hand over.
        public var source: String
        /// Absolute target directory.
        public var directory: String
        /// The file's name in the target directory (no wildcards).
        public var name: String
        public var ifExists: LinkStep.IfExists
        public var generations: Int
        /// The done file's name in the target directory, if one is written.
        public var doneFileName: String?
        public var mode: UInt32

        public init(source: String, directory: String, name: String, ifExists: LinkStep.IfExists = .fail, generations: Int = LinkStep.Deliver.defaultGenerations,
                    doneFileName: String? = nil, mode: UInt32 = LinkStep.Deliver.defaultMode) {
            self.source = source
            self.directory = directory
            self.name = name
            self.ifExists = ifExists
            self.generations = generations
            self.doneFileName = doneFileName
            self.mode = mode
        }
    }

    /// `check:` with its paths made absolute.
    public typealias Check = LinkStep.Check

    /// `convert:` with its paths made absolute and its substitution table read.
    public struct Convert: Codable, Sendable, Equatable {
        public var source: String
        public var target: String
        public var from: LinkStep.Encoding
        public var toEncoding: LinkStep.Encoding
        public var newline: LinkStep.NewlineConversion
        public var unmappable: LinkStep.Unmappable
        /// Code point → replacement.
        public var substitutions: [UInt32: String]

        public init(source: String, target: String, from: LinkStep.Encoding, toEncoding: LinkStep.Encoding, newline: LinkStep.NewlineConversion = .keep,
                    unmappable: LinkStep.Unmappable = .fail, substitutions: [UInt32: String] = [:]) {
            self.source = source
            self.target = target
            self.from = from
            self.toEncoding = toEncoding
            self.newline = newline
            self.unmappable = unmappable
            self.substitutions = substitutions
        }
    }

    /// A file the store already knows this job received or delivered.
    public struct Receipt: Codable, Sendable, Equatable {
        public var runID: Int64
        public var logicalDate: String
        /// Where it was received from, or delivered to (absolute).
        public var path: String
        public var sha256: String
        public var bytes: Int64
        /// Seconds since the epoch.
        public var at: Double

        public init(runID: Int64, logicalDate: String, path: String, sha256: String, bytes: Int64, at: Double) {
            self.runID = runID
            self.logicalDate = logicalDate
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
            self.at = at
        }
    }
}

/// A built-in step's answer: the files it handled, and — when it failed — why, in the operator's
/// words and with the error class the run is recorded with.
public struct LinkResult: Codable, Sendable, Equatable {
    public var files: [LinkFile]
    public var failure: Failure?

    /// `check`: every problem found, the first ones listed; `convert`: the substitutions made.
    public var findings: Findings?

    public init(files: [LinkFile] = [], failure: Failure? = nil, findings: Findings? = nil) {
        self.files = files
        self.failure = failure
        self.findings = findings
    }

    /// What a `check` or `convert` found, for the step's result, `show` and the journal.
    public struct Findings: Codable, Sendable, Equatable {
        /// How many are listed; all are counted.
        public static let listed = 20

        /// All of them.
        public var count: Int
        /// The first ones, each one line: "row 52, column 3 (byte 4,211): U+20BB7 𠮷 is not in jisx0208".
        public var listed: [String]

        public init(count: Int, listed: [String]) {
            self.count = count
            self.listed = listed
        }
    }

    public struct Failure: Codable, Sendable, Equatable {
        /// `late`, `duplicate`, `data`, or `exit` for any other failure (a missing directory, a full disk).
        public var errorClass: ErrorClass
        /// What happened, where, and what to do: "IDO_20261201.csv did not arrive in /srv/juki/outbox by 07:00".
        public var message: String

        public init(errorClass: ErrorClass, message: String) {
            self.errorClass = errorClass
            self.message = message
        }
    }
}

/// One file a built-in step received or delivered (or refused to).
public struct LinkFile: Codable, Sendable, Equatable {
    public var direction: Direction
    /// Received: the copy in the work directory. Delivered: the final path in the target directory.
    public var path: String
    /// Received: where it came from. Delivered: the work file it was made from.
    public var source: String?
    public var bytes: Int64
    /// Lower-case hex SHA-256 of the content.
    public var sha256: String
    /// The source file's modification time (seconds since the epoch), for received files.
    public var modifiedAt: Double?
    /// Records in the file, when a step counted them (`check`).
    public var records: Int64?
    public var outcome: Outcome
    /// For the operator: "already delivered by run 812 at 06:31", "kept the old one as IDO.csv.1".
    public var note: String?
    /// Converted files: the SHA-256 of the file they were made from, whose record count they keep.
    public var sourceSHA256: String?

    public init(direction: Direction, path: String, source: String? = nil, bytes: Int64, sha256: String, modifiedAt: Double? = nil,
                records: Int64? = nil, outcome: Outcome, note: String? = nil, sourceSHA256: String? = nil) {
        self.sourceSHA256 = sourceSHA256
        self.direction = direction
        self.path = path
        self.source = source
        self.bytes = bytes
        self.sha256 = sha256
        self.modifiedAt = modifiedAt
        self.records = records
        self.outcome = outcome
        self.note = note
    }

    public enum Direction: String, Codable, Sendable, CaseIterable {
        case received
        case delivered
        /// Verified by a `check` step (its records counted).
        case checked
        /// Written by a `convert` step.
        case converted
    }

    public enum Outcome: String, Codable, Sendable, CaseIterable {
        /// Taken into the work directory.
        case received
        /// Taken although this job received the same content for another date (`on_duplicate: accept`).
        case receivedDuplicate = "received_duplicate"
        /// Refused: this job received the same content for another date.
        case duplicate
        /// In place under its final name in the target directory.
        case delivered
        /// Identical content was delivered to the same path for this date before: nothing written.
        case alreadyDelivered = "already_delivered"
        /// Refused: different content for a date already delivered, without `--force`.
        case refused
        /// Met its contract.
        case checked
        /// Broke its contract (the step failed with `data`).
        case failedCheck = "failed_check"
        /// Re-encoded into `path`.
        case converted

        /// Whether this file counts as taken in (received) or handed over (delivered).
        public var counts: Bool {
            switch self {
            case .received, .receivedDuplicate, .delivered, .alreadyDelivered, .checked, .converted: true
            case .duplicate, .refused, .failedCheck: false
            }
        }
    }
}
