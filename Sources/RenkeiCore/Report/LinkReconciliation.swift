/// What the store counted of one job's files for one logical date: the facts the reconciliation
/// table is built from (summed in SQL; nothing here reads a file or the store).
public struct LinkDateFiles: Sendable, Equatable {
    public var job: String
    /// `YYYY-MM-DD` in the job's zone, as the runs recorded it.
    public var logicalDate: String
    public var received: FileTotals
    public var delivered: FileTotals
    /// Every logical time of this date that took in or handed over a file has a succeeded run
    /// (a failure resolved by a retry or rerun counts; one still open does not).
    public var succeeded: Bool

    public init(job: String, logicalDate: String, received: FileTotals, delivered: FileTotals, succeeded: Bool) {
        self.job = job
        self.logicalDate = logicalDate
        self.received = received
        self.delivered = delivered
        self.succeeded = succeeded
    }
}

/// Files of one direction, each counted once however many runs handled it.
public struct FileTotals: Sendable, Equatable {
    public var files: Int
    public var bytes: Int64
    /// The sum of the records of the files whose records were counted (by a `check` step), and
    /// how many files that is.
    public var countedRecords: Int64
    public var filesWithRecords: Int

    public init(files: Int = 0, bytes: Int64 = 0, countedRecords: Int64 = 0, filesWithRecords: Int = 0) {
        self.files = files
        self.bytes = bytes
        self.countedRecords = countedRecords
        self.filesWithRecords = filesWithRecords
    }

    /// The records, only when every file's were counted: a sum over some of the files would
    /// make a complete delivery look short (or a short one look complete).
    public var records: Int64? { files > 0 && filesWithRecords == files ? countedRecords : nil }
}

/// The answer to "was everything this link received for that date delivered?".
public enum ReconciliationStatus: String, Sendable, Equatable, Codable, CaseIterable {
    /// Delivered, every run of the date succeeded, and the records agree where both are known.
    case reconciled
    /// Records were counted on both sides and the numbers differ.
    case recordsDiffer = "records_differ"
    /// Received, nothing delivered, and a run of the date has not succeeded.
    case notDelivered = "not_delivered"
    /// Delivered, but a run of the date has not succeeded (a later step failed, or it still runs).
    case unfinished
    /// Received by runs that succeeded without delivering a file: the job only receives (or
    /// hands the data on with a step of its own).
    case receivedOnly = "received_only"

    /// Whether an operator has something to look at.
    public var needsAction: Bool {
        switch self {
        case .reconciled, .receivedOnly: false
        case .recordsDiffer, .notDelivered, .unfinished: true
        }
    }

    /// The rule, in the order it is applied: differing records are a data problem whatever the
    /// runs did; then whether anything was delivered; then whether the date's runs succeeded.
    public static func of(_ files: LinkDateFiles) -> ReconciliationStatus {
        if let received = files.received.records, let delivered = files.delivered.records, received != delivered {
            return .recordsDiffer
        }
        if files.delivered.files > 0 { return files.succeeded ? .reconciled : .unfinished }
        return files.succeeded ? .receivedOnly : .notDelivered
    }
}

extension FailureReport {
    /// One row of the reconciliation table (連携結果照合表): one job, one logical date.
    public struct Reconciliation: Sendable, Equatable, Codable {
        public var job: String
        public var logicalDate: String
        public var filesReceived: Int
        public var bytesReceived: Int64
        /// Nil when a received file's records were not counted.
        public var recordsReceived: Int64?
        public var filesDelivered: Int
        public var bytesDelivered: Int64
        public var recordsDelivered: Int64?
        public var status: ReconciliationStatus
        /// Why, in English, with the numbers that decided it.
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case job, status, reason
            case logicalDate = "logical_date", filesReceived = "files_received", bytesReceived = "bytes_received", recordsReceived = "records_received"
            case filesDelivered = "files_delivered", bytesDelivered = "bytes_delivered", recordsDelivered = "records_delivered"
        }

        /// Unknown records are written as `null`, not left out: the key is always there to read.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(job, forKey: .job)
            try container.encode(logicalDate, forKey: .logicalDate)
            try container.encode(filesReceived, forKey: .filesReceived)
            try container.encode(bytesReceived, forKey: .bytesReceived)
            try container.encode(recordsReceived, forKey: .recordsReceived)
            try container.encode(filesDelivered, forKey: .filesDelivered)
            try container.encode(bytesDelivered, forKey: .bytesDelivered)
            try container.encode(recordsDelivered, forKey: .recordsDelivered)
            try container.encode(status, forKey: .status)
            try container.encode(reason, forKey: .reason)
        }

        public init(_ files: LinkDateFiles) {
            job = files.job
            logicalDate = files.logicalDate
            filesReceived = files.received.files
            bytesReceived = files.received.bytes
            recordsReceived = files.received.records
            filesDelivered = files.delivered.files
            bytesDelivered = files.delivered.bytes
            recordsDelivered = files.delivered.records
            status = ReconciliationStatus.of(files)
            reason = Self.reason(status, received: recordsReceived, delivered: recordsDelivered)
        }

        static func reason(_ status: ReconciliationStatus, received: Int64?, delivered: Int64?) -> String {
            switch status {
            case .reconciled:
                if let delivered, received != nil { return "\(delivered) records received and delivered; the runs succeeded" }
                return "delivered and the runs succeeded; records not counted on both sides"
            case .recordsDiffer: return "\(received ?? 0) records received, \(delivered ?? 0) delivered"
            case .notDelivered: return "received but nothing delivered; a run for this date has not succeeded"
            case .unfinished: return "delivered, but a run for this date has not succeeded"
            case .receivedOnly: return "received by runs that succeeded; no file was delivered by a deliver step"
            }
        }
    }

    /// The table's rows, by logical date, then job.
    static func reconciliation(_ files: [LinkDateFiles]) -> [Reconciliation] {
        files.filter { $0.received.files > 0 || $0.delivered.files > 0 }
            .sorted { ($0.logicalDate, $0.job) < ($1.logicalDate, $1.job) }
            .map(Reconciliation.init)
    }
}
