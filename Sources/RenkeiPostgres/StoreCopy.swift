import Foundation
import GRDB
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// `renkeictl store copy`: a SQLite store's whole history moved into an empty PostgreSQL store
/// in one transaction, ids kept, and checked before COMMIT — every row read back and compared
/// column by column with the source, and the audit chain re-verified from PostgreSQL's rows with
/// the same hashes. A copy that does not verify is rolled back: the target stays empty.
///
/// Times: SQLite holds them as UTC text with milliseconds (GRDB's format); they travel as ISO
/// 8601 text with `Z` into `timestamptz` (microseconds), so nothing is rounded, and the audit
/// hash (over whole milliseconds) comes out the same.
public enum StoreCopy {
    /// Copies `sqlitePath` into the database of `session`. `key`: the audit key, to check the
    /// contents of keyed (HMAC) rows too; without it their links are checked.
    /// The source is read and its audit chain checked before PostgreSQL is reached.
    public static func copy(from sqlitePath: String, to address: PostgresAddress, key: [UInt8]? = nil) async throws -> StoreCopyReport {
        let source = try SourceStore(path: sqlitePath, key: key)
        return try await PostgresSession.with(address, applicationName: "renkeictl store copy", answerTimeout: .seconds(360)) { session in
            var report = try await copy(source, to: session)
            report.notes = source.notes
            return report
        }
    }

    static func copy(_ source: SourceStore, to session: PostgresSession) async throws -> StoreCopyReport {
        let sqlitePath = source.path
        let version = try await SchemaMigrator.version(session)
        guard version == PostgresSchema.latest else {
            if version > PostgresSchema.latest {
                throw StoreCopyProblem(.target, "\(session.address) is at schema version \(version), newer than this renkeictl knows (\(PostgresSchema.latest)): copy with the newer Renkei")
            }
            throw StoreCopyProblem(.target, "\(session.address) is at schema version \(version), not \(PostgresSchema.latest): run `renkeictl store migrate --store '\(session.address)'` first (as the role that owns Renkei's tables), then copy again")
        }
        // An operator's one-off command: a large history may take minutes, and a paused renkeictl
        // must not lose the copy half-way (nothing is committed before the end anyway).
        for setting in ["idle_in_transaction_session_timeout = '10min'", "statement_timeout = '5min'", "lock_timeout = '1min'"] {
            try await session.execute("SET \(setting)", doing: "preparing the copy")
        }
        return try await session.transaction(doing: "copying \(sqlitePath)") {
            // A second copy at the same time waits here, then finds the target full.
            try await session.execute("LOCK TABLE \(targetTables.joined(separator: ", ")) IN EXCLUSIVE MODE", doing: "locking Renkei's tables")
            try await refuseUnlessEmpty(session)
            var report = StoreCopyReport(source: sqlitePath, target: session.address.description)
            for table in CopiedTable.all {
                try await insert(table, from: source, into: session)
            }
            try await linkRuns(source, session)
            try await moveSequences(source, session)
            report.slots = try await seedLedger(session)
            for table in CopiedTable.all {
                let target = try await count(table.name, session)
                report.tables.append(.init(name: table.name, source: source.counts[table.name] ?? 0, target: target))
                if target != source.counts[table.name] {
                    throw StoreCopyProblem(.notVerified, "\(table.name): \(source.counts[table.name] ?? 0) row(s) in SQLite, \(target) in PostgreSQL")
                }
                try await compare(table, source, session)
            }
            report.sourceHead = source.head
            report.targetHead = try await verifyAudit(source, session)
            return report
        }
    }

    /// The tables a copy fills, and the cluster tables it seeds; all must be empty before.
    static let targetTables = CopiedTable.all.map(\.name) + ["audit_head", "slot", "job_cursor", "request"]

    static func refuseUnlessEmpty(_ session: PostgresSession) async throws {
        var found: [String] = []
        for table in targetTables {
            let rows = try await count(table, session)
            if rows > 0 { found.append("\(table): \(rows) row(s)") }
        }
        guard found.isEmpty else {
            throw StoreCopyProblem(.target, "\(session.address) already holds a history (\(found.joined(separator: ", "))): a copy never merges two histories, so nothing was copied. Copy into a new, migrated database (createdb, then renkeictl store migrate), or drop this one's tables if it is a failed trial")
        }
    }

    static func count(_ table: String, _ session: PostgresSession) async throws -> Int {
        let rows = try await session.run(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), doing: "counting the rows of \(table)")
        return Int(try rows.first!.decode(Int64.self))
    }

    /// Rows go in batches of `batch`, ids as they are; the run's links to other runs (a run may
    /// be resolved by a later one) are set afterwards by `linkRuns`.
    static func insert(_ table: CopiedTable, from source: SourceStore, into session: PostgresSession) async throws {
        let columns = table.columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
        var after: [CopiedValue]? = nil
        while true {
            let page = try source.page(table, after: after, limit: batch)
            guard let last = page.last else { return }
            var binds = PostgresBindings(capacity: page.count * table.columns.count)
            var tuples: [String] = []
            for row in page {
                var placeholders: [String] = []
                for (index, column) in table.columns.enumerated() {
                    let value = table.deferred.contains(column.name) ? .null : row[index]
                    value.bind(into: &binds)
                    placeholders.append(column.kind == .time ? "$\(binds.count)::timestamptz" : "$\(binds.count)")
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            try await session.run(PostgresQuery(unsafeSQL: "INSERT INTO \(table.name) (\(columns)) VALUES \(tuples.joined(separator: ", "))", binds: binds),
                                  doing: "copying \(table.name) (\(table.describe(page[0])) and after)")
            after = table.keyValues(last)
        }
    }

    static let batch = 200

    /// rerun_of, retry_of, resolved_by: set once every run is there.
    static func linkRuns(_ source: SourceStore, _ session: PostgresSession) async throws {
        let links = try source.runLinks()
        for start in stride(from: 0, to: links.count, by: batch) {
            var binds = PostgresBindings()
            var tuples: [String] = []
            for link in links[start..<min(start + batch, links.count)] {
                for value in link { CopiedValue.integerOrNull(value).bind(into: &binds) }
                let n = binds.count
                tuples.append("($\(n - 3)::bigint, $\(n - 2)::bigint, $\(n - 1)::bigint, $\(n)::bigint)")
            }
            try await session.run(PostgresQuery(unsafeSQL: """
                UPDATE run SET rerun_of = v.rerun_of, retry_of = v.retry_of, resolved_by = v.resolved_by
                FROM (VALUES \(tuples.joined(separator: ", "))) AS v(id, rerun_of, retry_of, resolved_by) WHERE run.id = v.id
                """, binds: binds), doing: "linking copied runs to their reruns, retries and resolutions")
        }
        // A copied run that was queued is due when it was queued, not at the time of the copy.
        try await session.execute("UPDATE run SET not_before = queued_at", doing: "setting the copied runs' not_before")
    }

    /// Each identity moves past the highest id SQLite ever gave (its `sqlite_sequence` counts
    /// deleted rows too), so no id is handed out twice.
    static func moveSequences(_ source: SourceStore, _ session: PostgresSession) async throws {
        for table in CopiedTable.all where table.key == ["id"] {
            let highest = source.highestIDs[table.name] ?? 0
            let query: PostgresQuery = highest > 0
                ? "SELECT setval(pg_get_serial_sequence(\(table.name), 'id'), \(highest), true)"
                : "SELECT setval(pg_get_serial_sequence(\(table.name), 'id'), 1, false)"
            try await session.run(query, doing: "moving \(table.name)'s id sequence past \(highest)")
        }
        let head = source.head ?? AuditHead(seq: 0, hash: AuditChain.genesis)
        try await session.run("INSERT INTO audit_head (id, seq, hash) VALUES (1, \(head.seq), \(head.hash))", doing: "setting the audit head")
    }

    /// The slot ledger a leader continues from: one slot per first scheduled attempt (epoch 0:
    /// before any leader) and each job's cursor at its newest slot, so catch-up on PostgreSQL
    /// starts where SQLite's history ends.
    static func seedLedger(_ session: PostgresSession) async throws -> Int {
        let slots = try await session.run("""
            INSERT INTO slot (job, logical_time, outcome, epoch, recorded_at)
            SELECT job, logical_time, CASE state WHEN 'missed' THEN 'missed' WHEN 'skipped' THEN 'skipped' ELSE 'queued' END, 0, queued_at
            FROM run WHERE trigger IN ('schedule', 'catch-up') AND attempt = 1
            RETURNING 1
            """, doing: "seeding the slot ledger from the scheduled runs")
        try await session.execute("INSERT INTO job_cursor (job, last_slot, epoch) SELECT job, max(logical_time), 0 FROM slot GROUP BY job",
                                  doing: "seeding each job's cursor")
        return slots.count
    }

    /// Every row read back from PostgreSQL, in the same order, compared with SQLite's.
    static func compare(_ table: CopiedTable, _ source: SourceStore, _ session: PostgresSession) async throws {
        var after: [CopiedValue]? = nil
        while true {
            let expected = try source.page(table, after: after, limit: batch)
            let found = try await targetPage(table, after: after, session)
            for (index, row) in expected.enumerated() {
                guard index < found.count else {
                    throw StoreCopyProblem(.notVerified, "\(table.name) \(table.describe(row)) is missing in PostgreSQL")
                }
                for (position, column) in table.columns.enumerated() where row[position] != found[index][position] {
                    throw StoreCopyProblem(.notVerified, "\(table.name) \(table.describe(row)), column \(column.name): SQLite has \(row[position]), PostgreSQL has \(found[index][position])")
                }
            }
            guard let last = expected.last else { return }
            after = table.keyValues(last)
        }
    }

    static func targetPage(_ table: CopiedTable, after: [CopiedValue]?, _ session: PostgresSession) async throws -> [[CopiedValue]] {
        let columns = table.columns.map { column -> String in
            switch column.kind {
            case .time: return "to_char(\"\(column.name)\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
            case .integer: return "\"\(column.name)\"::bigint"
            case .text, .blob: return "\"\(column.name)\""
            }
        }
        var binds = PostgresBindings()
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM \(table.name)"
        // Byte order for text keys, as SQLite's BINARY, whatever the database's collation.
        let orderKey = table.key.map { table.column($0).kind == .text ? "\"\($0)\" COLLATE \"C\"" : "\"\($0)\"" }
        if let after {
            for value in after { value.bind(into: &binds) }
            let placeholders = (1...after.count).map { index in table.column(table.key[index - 1]).kind == .text ? "$\(index)::text COLLATE \"C\"" : "$\(index)::bigint" }
            sql += " WHERE (\(orderKey.joined(separator: ", "))) > (\(placeholders.joined(separator: ", ")))"
        }
        sql += " ORDER BY \(orderKey.joined(separator: ", ")) LIMIT \(batch)"
        let rows = try await session.run(PostgresQuery(unsafeSQL: sql, binds: binds), doing: "reading back \(table.name)")
        return try rows.map { row in
            let cells = row.makeRandomAccess()
            return try table.columns.enumerated().map { index, column in
                let cell = cells[index]
                switch column.kind {
                case .integer: return try cell.decode(Int64?.self).map(CopiedValue.integer) ?? .null
                case .text, .time: return try cell.decode(String?.self).map(CopiedValue.text) ?? .null
                case .blob: return try cell.decode(ByteBuffer?.self).map { .bytes(Array($0.readableBytesView)) } ?? .null
                }
            }
        }
    }

    /// The audit rows as PostgreSQL now holds them, through the same verification as
    /// `renkeictl audit --verify`: the chain, and its head against SQLite's and `audit_head`.
    static func verifyAudit(_ source: SourceStore, _ session: PostgresSession) async throws -> AuditHead? {
        let links = try await PostgresAudit.rows(session).map(\.link)
        let head = try await PostgresAudit.head(session)
        let (seq, headHash) = (head?.seq ?? 0, head?.hash ?? "none")
        let findings = AuditVerification.verify(links, sequence: seq, journal: .unreadable("a copy checks the table"), key: source.key)
        if let first = findings.altered.first {
            throw StoreCopyProblem(.notVerified, "the audit chain in PostgreSQL does not verify: \(first)")
        }
        let target = links.last.map { AuditHead(seq: $0.id, hash: $0.hash) }
        guard target == source.head, (target?.hash ?? AuditChain.genesis) == headHash else {
            throw StoreCopyProblem(.notVerified, "the audit head differs: SQLite \(source.head.map { "row \($0.seq) \($0.hash)" } ?? "none"), PostgreSQL \(target.map { "row \($0.seq) \($0.hash)" } ?? "none"), audit_head row \(seq) \(headHash)")
        }
        return target
    }
}

/// What a copy did, for the operator to check: rows per table on both sides, both audit heads.
public struct StoreCopyReport: Sendable {
    public struct Table: Sendable {
        public var name: String
        public var source: Int
        public var target: Int
    }

    public var source: String
    public var target: String
    public var tables: [Table] = []
    public var sourceHead: AuditHead?
    public var targetHead: AuditHead?
    /// Slots seeded from the scheduled runs (`slot`, `job_cursor`).
    public var slots = 0
    /// What could not be checked (keyed rows without the key).
    public var notes: [String] = []
}

/// Why a copy was refused or undone, for the operator; `kind` picks the exit status.
public struct StoreCopyProblem: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The SQLite store is not there (the argument names it).
        case sourceMissing
        /// This user may not read it.
        case sourcePermission
        /// It cannot be copied as it is: not a Renkei store, an older schema, a broken audit
        /// chain, a run still running, a value that does not fit its column.
        case source
        /// The target is not ready: not migrated, or not empty.
        case target
        /// Rows read back from PostgreSQL differ from SQLite's; the transaction was rolled back.
        case notVerified
    }

    public var kind: Kind
    public var message: String
    public var description: String {
        kind == .notVerified ? "the copy did not verify, so it was rolled back and the target stays empty: \(message)" : message
    }

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// One value as both stores agree on it: integers, text (times as `2026-12-01T23:45:24.792Z`), bytes.
enum CopiedValue: Equatable, CustomStringConvertible {
    case null
    case integer(Int64)
    case text(String)
    case bytes([UInt8])

    static func integerOrNull(_ value: Int64?) -> CopiedValue { value.map(CopiedValue.integer) ?? .null }

    func bind(into binds: inout PostgresBindings) {
        switch self {
        case .null: binds.appendNull()
        case .integer(let value): binds.append(value)
        case .text(let value): binds.append(value)
        case .bytes(let value): binds.append(ByteBuffer(bytes: value))
        }
    }

    var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let value): return String(value)
        case .text(let value): return "'\(value.count > 60 ? value.prefix(60) + "…" : value)'"
        case .bytes(let value): return "\(value.count) bytes"
        }
    }
}

/// A table of the SQLite store (v1–v11) and its PostgreSQL twin, column for column.
struct CopiedTable: Sendable {
    enum Kind: Sendable { case integer, text, blob, time }
    struct Column: Sendable {
        var name: String
        var kind: Kind
    }

    var name: String
    var columns: [Column]
    /// The primary key: order of copying and of comparing.
    var key: [String]
    /// Columns inserted NULL and set once every row is there (links to later runs).
    var deferred: Set<String> = []

    func column(_ name: String) -> Column { columns.first { $0.name == name }! }

    func keyValues(_ row: [CopiedValue]) -> [CopiedValue] {
        key.map { name in row[columns.firstIndex { $0.name == name }!] }
    }

    /// "id 12", "run_id 4, position 1", "job 'juki'".
    func describe(_ row: [CopiedValue]) -> String {
        zip(key, keyValues(row)).map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }

    init(_ name: String, key: [String] = ["id"], deferred: Set<String> = [], _ columns: String) {
        self.name = name
        self.key = key
        self.deferred = deferred
        // "name:kind" pairs; i integer, t text, b blob, d time.
        self.columns = columns.split(separator: " ").map { pair in
            let parts = pair.split(separator: ":")
            let kind: Kind = switch parts[1] { case "i": .integer; case "b": .blob; case "d": .time; default: .text }
            return Column(name: String(parts[0]), kind: kind)
        }
    }

    /// The `run` table, also what `PostgresRunReading` reads.
    static var run: CopiedTable { all[0] }

    /// In an order the foreign keys allow.
    static let all: [CopiedTable] = [
        CopiedTable("run", deferred: ["rerun_of", "retry_of", "resolved_by"], """
            id:i job:t logical_time:i logical_zone:t trigger:t attempt:i state:t definition_hash:t environment:t parameters:t \
            requested_by_uid:i requested_by_user:t reason:t rerun_of:i retry_of:i queued_at:d started_at:d finished_at:d \
            exit_status:i signal:i error_class:t error_message:t failed_step:t resolved_by:i resolved_at:d owner:t work_directory:t purged_at:d
            """),
        CopiedTable("step", key: ["run_id", "position"], """
            run_id:i position:i name:t state:t command:t pid:i process:t started_at:d finished_at:d exit_status:i signal:i \
            error_class:t message:t stdout_tail:b stderr_tail:b stdout_bytes:i stderr_bytes:i
            """),
        CopiedTable("deadline_breach", "id:i job:t logical_time:i kind:t deadline:d recorded_at:d"),
        CopiedTable("audit", "id:i at:d uid:i user:t pid:i request:t reason:t result:t run_id:i previous_hash:t hash:t sealing:t"),
        CopiedTable("file", """
            id:i run_id:i position:i step:t job:t logical_date:t direction:t path:t source:t bytes:i sha256:t modified_at:d \
            records:i outcome:t note:t source_sha256:t recorded_at:d
            """),
        CopiedTable("trigger_file", "id:i job:t path:t sha256:t bytes:i logical_date:t run_id:i seen_at:d"),
        CopiedTable("hold", key: ["job"], "job:t held_by:t reason:t since:d until:d"),
        CopiedTable("notification", "id:i run_id:i job:t logical_date:t event:t channel:t recipients:t at:d result:t message:t attempt:i"),
    ]
}

/// The SQLite store, read-only, in one snapshot: everything the copy reads and compares is
/// the store as it was at one moment, even if renkeid writes meanwhile.
final class SourceStore {
    let path: String
    let key: [UInt8]?
    /// The read-only pool and the snapshot every read goes through.
    let pool: DatabasePool
    let snapshot: DatabaseSnapshot
    let counts: [String: Int]
    /// Per table with an `id`: the highest id SQLite gave (sqlite_sequence, or the rows').
    let highestIDs: [String: Int64]
    let head: AuditHead?
    /// What could not be checked (keyed rows without the key).
    let notes: [String]

    init(path: String, key: [UInt8]?) throws {
        self.path = path
        self.key = key
        if let problem = RunStore.whyUnreadable(at: path) {
            switch problem {
            case .noDatabase: throw StoreCopyProblem(.sourceMissing, "no SQLite store at \(path): name renkeid's store, e.g. sqlite:/var/lib/renkei/renkei.db")
            case .permissionDenied: throw StoreCopyProblem(.sourcePermission, "\(problem)")
            case .cannotOpen: throw StoreCopyProblem(.source, "\(problem)")
            }
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            snapshot = try pool.makeSnapshot()
            let (counts, highest, applied, sequence, audit, running) = try snapshot.read { db in
                let applied = try Set(String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
                var counts: [String: Int] = [:], highest: [String: Int64] = [:]
                let sequence = try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence").map { ($0[0] as String, $0[1] as Int64) })
                for table in CopiedTable.all {
                    counts[table.name] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name)") ?? 0
                    if table.key == ["id"] {
                        highest[table.name] = max(try Int64.fetchOne(db, sql: "SELECT max(id) FROM \(table.name)") ?? 0, sequence[table.name] ?? 0)
                    }
                }
                let audit = try AuditRecord.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id")
                let running = try Row.fetchAll(db, sql: "SELECT id, job FROM run WHERE state = 'running' ORDER BY id LIMIT 3").map { "run \($0[0] as Int64) of \($0[1] as String)" }
                return (counts, highest, applied, sequence["audit"] ?? 0, audit, running)
            }
            self.counts = counts
            self.highestIDs = highest
            self.head = audit.last.map(\.head)
            let missing = Self.versions.filter { !applied.contains($0) }
            guard missing.isEmpty else {
                throw StoreCopyProblem(.source, "\(path) is an older Renkei store (it lacks \(missing.joined(separator: ", "))): start this version's renkeid on it once (it upgrades the store when it opens it), stop it, then copy")
            }
            guard running.isEmpty else {
                throw StoreCopyProblem(.source, "\(path) has runs still running (\(running.joined(separator: ", "))): stop renkeid first (systemctl stop renkeid) so the copy is the whole history; a run a crash left running is marked interrupted when renkeid next opens the store")
            }
            let findings = AuditVerification.verify(audit.map(\.link), sequence: sequence, journal: .unreadable("a copy checks the table"), key: key)
            notes = findings.notes.filter { $0.contains("keyed") }
            if let first = findings.altered.first {
                let directory = (path as NSString).deletingLastPathComponent
                throw StoreCopyProblem(.source, "the audit chain of \(path) does not verify, so nothing was copied: \(first). See everything with: renkeictl audit --verify --state \(directory); copy a store only once its audit log verifies (keep this file as evidence)")
            }
        } catch let error as DatabaseError {
            if error.message?.contains("no such table") == true {
                throw StoreCopyProblem(.source, "\(path) is not a Renkei store (\(error.message!)): name renkeid's store, e.g. sqlite:/var/lib/renkei/renkei.db")
            }
            var text = "cannot read the SQLite store \(path): \(error.message ?? "\(error)")"
            if [.SQLITE_CANTOPEN, .SQLITE_READONLY].contains(error.resultCode) {
                text += "; SQLite must be able to write \(path)-shm beside it: run the copy as renkeid's user or root"
            }
            throw StoreCopyProblem(.source, text)
        }
    }

    static let versions = ["v1: runs and steps", "v2: deadline breaches", "v3: audit", "v4: report index", "v5: files", "v6: waiting runs",
                           "v7: trigger files", "v8: holds", "v9: purged runs", "v10: audit sealing", "v11: notifications"]

    /// Up to `limit` rows after the key `after`, in key order, as copied values.
    func page(_ table: CopiedTable, after: [CopiedValue]?, limit: Int) throws -> [[CopiedValue]] {
        let columns = table.columns.map { column -> String in
            let quoted = "\"\(column.name)\""
            switch column.kind {
            case .blob: return "CAST(\(quoted) AS BLOB)"
            // Unix seconds (GRDB reads numbers so) or any text SQLite reads as a time, in UTC.
            case .time: return "CASE WHEN typeof(\(quoted)) IN ('integer', 'real') THEN strftime('%Y-%m-%dT%H:%M:%fZ', \(quoted), 'unixepoch') ELSE strftime('%Y-%m-%dT%H:%M:%fZ', \(quoted)) END, quote(\(quoted))"
            case .integer, .text: return quoted
            }
        }
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM \(table.name)"
        var arguments: [DatabaseValueConvertible?] = []
        if let after {
            sql += " WHERE (\(table.key.map { "\"\($0)\"" }.joined(separator: ", "))) > (\(after.map { _ in "?" }.joined(separator: ", ")))"
            arguments = after.map { value -> DatabaseValueConvertible? in
                switch value { case .integer(let v): return v; case .text(let v): return v; default: return nil }
            }
        }
        sql += " ORDER BY \(table.key.map { "\"\($0)\"" }.joined(separator: ", ")) LIMIT \(limit)"
        return try snapshot.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                var values: [CopiedValue] = []
                var index = 0
                for column in table.columns {
                    let value = row[index] as DatabaseValue
                    index += 1
                    switch (column.kind, value.storage) {
                    case (_, .null) where column.kind != .time: values.append(.null)
                    case (.integer, .int64(let v)): values.append(.integer(v))
                    case (.integer, .double(let v)) where v == v.rounded() && abs(v) < 9e18: values.append(.integer(Int64(v)))
                    case (.text, .string(let v)): values.append(.text(v))
                    case (.text, .int64(let v)): values.append(.text(String(v)))
                    case (.blob, .blob(let v)): values.append(.bytes(Array(v)))
                    case (.time, let storage):
                        let raw = row[index] as String
                        index += 1
                        if case .string(let v) = storage { values.append(.text(v)) }
                        else if raw == "NULL" { values.append(.null) }
                        else { throw unfit(table, values, column, "\(raw) is not a time SQLite can read") }
                    default:
                        throw unfit(table, values, column, "\(value) is not \(column.kind == .integer ? "an integer" : column.kind == .text ? "text" : "bytes")")
                    }
                }
                return values
            }
        }
    }

    private func unfit(_ table: CopiedTable, _ partial: [CopiedValue], _ column: CopiedTable.Column, _ why: String) -> StoreCopyProblem {
        let known = table.key.allSatisfy { name in table.columns.firstIndex { $0.name == name }! < partial.count }
        let place = known ? " \(table.describe(partial + Array(repeating: .null, count: table.columns.count - partial.count)))" : ""
        return StoreCopyProblem(.source, "\(path): \(table.name)\(place), column \(column.name): \(why); nothing was copied")
    }

    /// (id, rerun_of, retry_of, resolved_by) of every run that links to another.
    func runLinks() throws -> [[Int64?]] {
        try snapshot.read { db in
            try Row.fetchAll(db, sql: "SELECT id, rerun_of, retry_of, resolved_by FROM run WHERE rerun_of IS NOT NULL OR retry_of IS NOT NULL OR resolved_by IS NOT NULL ORDER BY id")
                .map { [$0[0], $0[1], $0[2], $0[3]] }
        }
    }
}
