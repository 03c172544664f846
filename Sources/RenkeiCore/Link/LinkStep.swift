/// A built-in step: Renkei itself moves and checks the link's files, knowing what it took in and
/// what it handed over. Written in a job file as `receive:`, `deliver:`, `check:` or `convert:`
/// instead of `run:`. Values are as
/// the job file wrote them: `${VAR}` and `{date:…}` are filled in when the run starts
/// (`LinkStepResolution`).
public enum LinkStep: Sendable, Equatable {
    case receive(Receive)
    case deliver(Deliver)
    case check(Check)
    case convert(Convert)

    /// The job-file key: `receive`, `deliver`, `check`, `convert`.
    public var verb: String {
        switch self {
        case .receive: "receive"
        case .deliver: "deliver"
        case .check: "check"
        case .convert: "convert"
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

/// `check:` and `convert:` — the data's contract: encodings, layouts, counts, characters.
extension LinkStep {
    /// The encodings a link's files come in, as job files spell them.
    public enum Encoding: String, Sendable, Codable, CaseIterable {
        case utf8 = "utf-8"
        case utf8BOM = "utf-8-bom"
        /// Microsoft's Shift_JIS (Windows-31J), with the NEC and IBM extensions.
        case cp932
        /// Shift_JIS with the JIS X 0208 table.
        case shiftJIS = "shift_jis"
        case eucJP = "euc-jp"
    }

    /// `check: newline:` — what ends each record.
    public enum Newline: String, Sendable, Codable, CaseIterable {
        case crlf
        case lf
        /// Either, even mixed.
        case any
        /// Nothing: fixed-length records follow each other directly.
        case none
    }

    public enum Format: String, Sendable, Codable, CaseIterable {
        /// RFC 4180: quoted fields may hold commas, quotes (doubled) and newlines.
        case csv
        /// Records of `record_length` bytes in the file's encoding.
        case fixed
    }

    /// The set every character must belong to (`characters:`).
    public enum CharacterRepertoire: String, Sendable, Codable, CaseIterable {
        case jisx0208
        case cp932
        case jisx0213
        case unicode
    }

    /// Where the sender declared how many records (or what total) the file holds.
    public enum Declared: Sendable, Equatable, Codable {
        /// A regular expression the file's last record matches; its first group is the figure.
        case trailer(String)
        /// A control file whose first number is the figure (relative to the work directory).
        case controlFile(String)
    }

    /// `check:` — verify a file against its link contract. Codable: once its paths are resolved it
    /// is also what the step's process is asked to do (`LinkRequest.Check`).
    public struct Check: Sendable, Equatable, Codable {
        public var file: String
        public var encoding: Encoding
        public var newline: Newline
        public var format: Format
        /// csv: the first record must be exactly these fields.
        public var header: [String]?
        /// csv: every record has this many fields.
        public var columns: Int?
        /// fixed: bytes per record, in the file's encoding, without the newline.
        public var recordLength: Int?
        /// The record count the sender declared.
        public var count: Declared?
        /// csv: a column's total (1-based) and where the sender declared it.
        public var sum: Sum?
        public var characters: CharacterRepertoire?

        public init(file: String, encoding: Encoding, newline: Newline = .any, format: Format = .csv, header: [String]? = nil, columns: Int? = nil,
                    recordLength: Int? = nil, count: Declared? = nil, sum: Sum? = nil, characters: CharacterRepertoire? = nil) {
            self.file = file
            self.encoding = encoding
            self.newline = newline
            self.format = format
            self.header = header
            self.columns = columns
            self.recordLength = recordLength
            self.count = count
            self.sum = sum
            self.characters = characters
        }
    }

    public struct Sum: Sendable, Equatable, Codable {
        public var column: Int
        public var declared: Declared

        public init(column: Int, declared: Declared) {
            self.column = column
            self.declared = declared
        }
    }

    /// `convert: newline:`.
    public enum NewlineConversion: String, Sendable, Codable, CaseIterable {
        case keep
        case lf
        case crlf
    }

    public enum Unmappable: String, Sendable, Codable, CaseIterable {
        /// The step fails naming the row, column and code point.
        case fail
        /// The `substitutions` table applies; a character it does not name becomes 〓 (U+3013).
        /// Every substitution is counted and the first ones listed.
        case substitute
    }

    /// `convert:` — re-encode a file; never lossy without saying so.
    public struct Convert: Sendable, Equatable {
        public var file: String
        public var to: String
        public var from: Encoding
        public var toEncoding: Encoding
        public var newline: NewlineConversion
        public var unmappable: Unmappable
        /// With `substitute`: code point → replacement, read from the job's `substitutions` file.
        public var substitutions: [UInt32: String]
        /// The table's file as written, for messages.
        public var substitutionsFile: String?

        public init(file: String, to: String, from: Encoding, toEncoding: Encoding, newline: NewlineConversion = .keep, unmappable: Unmappable = .fail,
                    substitutions: [UInt32: String] = [:], substitutionsFile: String? = nil) {
            self.file = file
            self.to = to
            self.from = from
            self.toEncoding = toEncoding
            self.newline = newline
            self.unmappable = unmappable
            self.substitutions = substitutions
            self.substitutionsFile = substitutionsFile
        }
    }
}
