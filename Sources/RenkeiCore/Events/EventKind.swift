/// Every kind of event Renkei logs, each with one fixed 128-bit `MESSAGE_ID` (made once with
/// `systemd-id128 new`; never change one: monitoring rules match on them) explained in
/// `Units/renkei.catalog`.
public enum EventKind: String, Sendable, CaseIterable {
    case daemonReady = "daemon-ready"
    case daemonReloaded = "daemon-reloaded"
    case reloadFailed = "reload-failed"
    case daemonStopping = "daemon-stopping"
    case jobFileInvalid = "job-file-invalid"
    case runStarted = "run-started"
    case runSucceeded = "run-succeeded"
    case runFailed = "run-failed"
    case runTimedOut = "run-timed-out"
    case runInterrupted = "run-interrupted"
    case runCancelled = "run-cancelled"
    case retryScheduled = "retry-scheduled"
    case slotSkipped = "slot-skipped"
    case slotMissed = "slot-missed"
    case catchUpStarted = "catch-up-started"
    case deadlineBreached = "deadline-breached"
    case rerunRequested = "rerun-requested"
    case rerunRefused = "rerun-refused"
    case outputDropped = "output-dropped"
    case reportWritten = "report-written"
    case fileReceived = "file-received"
    case fileDelivered = "file-delivered"
    case fileRefused = "file-refused"
    case fileChecked = "file-checked"
    case fileConverted = "file-converted"
    case runWaiting = "run-waiting"
    case upstreamsSucceeded = "upstreams-succeeded"
    case upstreamFailed = "upstream-failed"
    case triggerFileTaken = "trigger-file-taken"
    case jobHeld = "job-held"
    case jobReleased = "job-released"
    case runsPurged = "runs-purged"
    case auditAppended = "audit-appended"
    case configInvalid = "config-invalid"
    case metricsNotWritten = "metrics-not-written"
    case notificationSent = "notification-sent"
    case notificationFailed = "notification-failed"
    case leaderElected = "leader-elected"
    case leadershipLost = "leadership-lost"
    case nodeDeclaredDead = "node-declared-dead"
    case nodeSelfFenced = "node-self-fenced"
    case runLost = "run-lost"

    public var messageID: String {
        switch self {
        case .daemonReady: "7c77bc8d728f49b2aa8658d14c70c4e1"
        case .daemonReloaded: "4a8fa53453bd47c1a375b2e154cdf580"
        case .reloadFailed: "870a5aae48da4df493a87f7d6fd55cf8"
        case .daemonStopping: "463ac9c46de34f12a7ff1a214d6dda17"
        case .jobFileInvalid: "f4eb62e979fa4f9e9e37e17cfe26b570"
        case .runStarted: "9d98557ad9ed4a6c83a6df4a5b5acc1b"
        case .runSucceeded: "cb49118484ae4a519e0c1724afaf56a0"
        case .runFailed: "085a6de17fe9430b9a99f7d6402c1c14"
        case .runTimedOut: "4a4b61a3ea504cb9a57e48b6b9aece6e"
        case .runInterrupted: "c0e97d67b40a4d778ef867ac4c771099"
        case .runCancelled: "c93774c6b2dd429198ff007c97520566"
        case .retryScheduled: "13c699e9382642a2b8ab347c7136e218"
        case .slotSkipped: "c55bd51c44c94f768df8b27e20990b0a"
        case .slotMissed: "b5cb95bc60644bf0b01ef95e59394542"
        case .catchUpStarted: "431469c8044a41f38a8333f199f9455c"
        case .deadlineBreached: "8692a5b1fe6b4d60ac0fdfdfbe55601f"
        case .rerunRequested: "c8507556a2bb453aae0f345d0971cfb4"
        case .rerunRefused: "a97982e10f624ef5b46cd1763cf33b93"
        case .outputDropped: "adaa784896c046ffa6a14d65a30166d1"
        case .reportWritten: "91d1695c836d402e9bfb79e8c34853e7"
        case .fileReceived: "913e55995d554284a77439be38acfb5f"
        case .fileDelivered: "5f71f719634d49fcb1a8a1ee0e82f5e7"
        case .fileRefused: "6bb51cd1390b4942b12031856b5ba327"
        case .fileChecked: "9569c20b910446f6bf4e1a4df883a2ea"
        case .fileConverted: "fdcaa23a0d7241a7944b3181d68a01bf"
        case .runWaiting: "a112a6766ab1427a8a791fd3c56c098f"
        case .upstreamsSucceeded: "4c0bd9010aba41dd88046fa84dba3578"
        case .triggerFileTaken: "4a4e17b9e0414889af9c3a91111d6af2"
        case .jobHeld: "8eb3431c4058438d952372477e6ddd13"
        case .jobReleased: "5fb9e139619e4822b75dcd5ff78c51d0"
        case .upstreamFailed: "bb7c532c56bf4189954c1e8dc82660d0"
        case .runsPurged: "ac891449fb7e42d3a555955301c6d594"
        case .auditAppended: "f8cb6ddb2db541a490bc02a815fb6d6b"
        case .configInvalid: "648af789b5a64e3e823c7fe06bd5534c"
        case .metricsNotWritten: "d6726d10b88d4e00b2646ee4fa430ef3"
        case .notificationSent: "9a72670fbf6e4789b12b7566455a2622"
        case .notificationFailed: "2cbe654ecdad4e7084de37a83ef81be1"
        case .leaderElected: "1dbb214abf9a47b2b3233f16632598c7"
        case .leadershipLost: "628ba3e43268419a8bdcbf682bafa23d"
        case .nodeDeclaredDead: "413d84a5abcd4f29bcc24372297e2f7f"
        case .nodeSelfFenced: "87ed43f0a39d415a9ad056d4c8cc2c1e"
        case .runLost: "db5c0f1d8dd545d1902ae53111383d90"
        }
    }

    /// The event for a run that ended in `state`.
    public static func runEnded(_ state: RunState) -> EventKind {
        switch state {
        case .succeeded: .runSucceeded
        case .timedOut: .runTimedOut
        case .interrupted: .runInterrupted
        case .cancelled: .runCancelled
        default: .runFailed
        }
    }
}

/// The journal fields Renkei sets on its events, as SPEC names them.
public enum EventField {
    public static let job = "RENKEI_JOB"
    public static let runID = "RENKEI_RUN_ID"
    public static let step = "RENKEI_STEP"
    public static let attempt = "RENKEI_ATTEMPT"
    public static let trigger = "RENKEI_TRIGGER"
    public static let logicalTime = "RENKEI_LOGICAL_TIME"
    public static let state = "RENKEI_STATE"
    public static let errorClass = "RENKEI_ERROR_CLASS"
    public static let exitStatus = "RENKEI_EXIT_STATUS"
    public static let requestedBy = "RENKEI_REQUESTED_BY"
    public static let file = "RENKEI_FILE"
    public static let fileSHA256 = "RENKEI_FILE_SHA256"
    public static let bytes = "RENKEI_BYTES"
    public static let fileOutcome = "RENKEI_FILE_OUTCOME"
    public static let messageID = "MESSAGE_ID"
    /// A renkeid node on PostgreSQL (`--node-name`), its incarnation, and the lease term it leads under.
    public static let node = "RENKEI_NODE"
    public static let incarnation = "RENKEI_INCARNATION"
    public static let epoch = "RENKEI_EPOCH"
    /// The newest audit row's id and hash (`audit-appended`, the report): the journal's copy of
    /// the head `renkeictl audit --verify` compares the table with.
    public static let auditSeq = "RENKEI_AUDIT_SEQ"
    public static let auditHash = "RENKEI_AUDIT_HASH"
    /// The store the audit row is in (its database file): one machine may keep several.
    public static let auditStore = "RENKEI_AUDIT_STORE"
    /// `sha256` or `hmac-sha256`.
    public static let auditSealing = "RENKEI_AUDIT_SEALING"
}
