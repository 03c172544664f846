import Foundation
import GRDB
import RenkeiCore

/// One audit row: who asked for what, and what came of it.
public struct AuditRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "audit"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var at: Date
    public var uid: Int64
    public var user: String
    public var pid: Int64
    /// The request as the caller sent it (JSON).
    public var request: String
    public var reason: String?
    /// `accepted`, or `refused: why`.
    public var result: String
    /// The run the request created, if it created one.
    public var runId: Int64?
    public var previousHash: String
    public var hash: String
    /// Whether `hash` is a plain SHA-256 or an HMAC under the audit key. Nil only when read
    /// from a store renkeid has not migrated yet: every row then is plain.
    public var sealing: AuditSealing?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The fields the hash covers, in a fixed order (times in whole milliseconds, as stored).
    var hashedFields: [String] {
        let millis = Int64((at.timeIntervalSince1970 * 1000).rounded())
        return [String(millis), String(uid), user, String(pid), request, reason ?? "", result, runId.map(String.init) ?? ""]
    }

    /// The row as `AuditVerification` checks it.
    public var link: AuditLink {
        AuditLink(id: id ?? 0, previousHash: previousHash, hash: hash, fields: hashedFields, sealing: sealing ?? .plain)
    }

    public var head: AuditHead { AuditHead(seq: id ?? 0, hash: hash) }
}

/// How a writing store seals its audit rows: the key (when renkeid was given one) and who hears
/// of each row once it is committed (the journal, through `AuditEvents`).
public struct AuditSeal: Sendable {
    /// HMAC-SHA256 key; nil for a plain SHA-256 chain.
    public var key: [UInt8]?
    /// Called with each audit row after its transaction committed, never before: a head the
    /// journal holds is a row the table held.
    public var appended: @Sendable (AuditRecord) -> Void

    public init(key: [UInt8]? = nil, appended: @escaping @Sendable (AuditRecord) -> Void = { _ in }) {
        self.key = key
        self.appended = appended
    }
}

/// A break in the audit chain: the first row whose hash does not match.
public struct AuditChainBreak: Sendable, Equatable, CustomStringConvertible {
    public let rowID: Int64
    public let reason: String
    public var description: String { "audit row \(rowID): \(reason)" }
}

/// An operator's request and what came of it, before it takes its place in the chain.
public struct AuditEntry: Sendable {
    public var uid: Int64
    public var user: String
    public var pid: Int64
    public var request: String
    public var reason: String?
    public var result: String

    public init(uid: Int64, user: String, pid: Int64, request: String, reason: String?, result: String) {
        self.uid = uid
        self.user = user
        self.pid = pid
        self.request = request
        self.reason = reason
        self.result = result
    }
}

extension RunStore {
    /// Appends a row to the audit chain and returns it.
    @discardableResult
    public func appendAudit(_ entry: AuditEntry, runID: Int64?, at now: Date = Date()) async throws -> AuditRecord {
        let key = auditSeal.key
        let row = try await write(.powerCut) { db in try Self.append(entry, runID: runID, at: now, key: key, db) }
        auditSeal.appended(row)
        return row
    }

    /// Chains `entry` after the last row, in the caller's transaction.
    static func append(_ entry: AuditEntry, runID: Int64?, at now: Date, key: [UInt8]?, _ db: Database) throws -> AuditRecord {
        let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit ORDER BY id DESC LIMIT 1") ?? AuditChain.genesis
        // Stored times keep milliseconds; hash what is stored.
        let stored = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded() / 1000)
        var row = AuditRecord(id: nil, at: stored, uid: entry.uid, user: entry.user, pid: entry.pid, request: entry.request, reason: entry.reason,
                              result: entry.result, runId: runID, previousHash: previous, hash: "", sealing: key == nil ? .plain : .keyed)
        row.hash = AuditChain.hash(previous: previous, fields: row.hashedFields, key: key)
        try row.insert(db)
        return row
    }

    /// Audit rows, oldest first, at or after `since`.
    public func audit(since: Date? = nil) throws -> [AuditRecord] {
        try pool.read { db in
            var request = AuditRecord.all().order(Column("id"))
            if let since { request = request.filter(Column("at") >= since) }
            return try request.fetchAll(db)
        }
    }

    /// How many rows were ever written to the audit table: SQLite's AUTOINCREMENT counter
    /// (`sqlite_sequence`), which deleting rows does not lower. 0 before the first.
    public func auditRowsWritten() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit'") ?? 0 }
    }

    /// The newest audit row's id and hash; nil before the first.
    public func auditHead() throws -> AuditHead? {
        try pool.read { db in try AuditRecord.order(Column("id").desc).fetchOne(db)?.head }
    }

    /// Walks the whole chain (keyed rows with `key`, unchecked without); nil when intact, else
    /// the first row that does not fit. `renkeictl audit --verify` checks more: `AuditVerification`.
    public func verifyAudit(key: [UInt8]? = nil) throws -> AuditChainBreak? {
        let rows = try audit()
        var previous = AuditChain.genesis
        var expectedID: Int64 = 1
        for row in rows {
            if row.id! != expectedID {
                return AuditChainBreak(rowID: expectedID, reason: "missing (the next row is \(row.id!)): a row was deleted")
            }
            if row.previousHash != previous {
                return AuditChainBreak(rowID: row.id!, reason: "its previous hash does not match row \(row.id! - 1): a row before it was changed or removed")
            }
            let keyed = row.sealing == .keyed
            if !keyed || key != nil, AuditChain.hash(previous: previous, fields: row.hashedFields, key: keyed ? key : nil) != row.hash {
                return AuditChainBreak(rowID: row.id!, reason: "its contents do not match its hash: the row was edited")
            }
            previous = row.hash
            expectedID += 1
        }
        return nil
    }
}
