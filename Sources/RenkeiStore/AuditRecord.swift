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

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The fields the hash covers, in a fixed order (times in whole milliseconds, as stored).
    var hashedFields: [String] {
        let millis = Int64((at.timeIntervalSince1970 * 1000).rounded())
        return [String(millis), String(uid), user, String(pid), request, reason ?? "", result, runId.map(String.init) ?? ""]
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
        try await write(.powerCut) { db in try Self.append(entry, runID: runID, at: now, db) }
    }

    /// Chains `entry` after the last row, in the caller's transaction.
    static func append(_ entry: AuditEntry, runID: Int64?, at now: Date, _ db: Database) throws -> AuditRecord {
        let previous = try String.fetchOne(db, sql: "SELECT hash FROM audit ORDER BY id DESC LIMIT 1") ?? AuditChain.genesis
        // Stored times keep milliseconds; hash what is stored.
        let stored = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded() / 1000)
        var row = AuditRecord(id: nil, at: stored, uid: entry.uid, user: entry.user, pid: entry.pid, request: entry.request, reason: entry.reason,
                              result: entry.result, runId: runID, previousHash: previous, hash: "")
        row.hash = AuditChain.hash(previous: previous, fields: row.hashedFields)
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

    /// Walks the whole chain; nil when intact, else the first row that does not fit.
    public func verifyAudit() throws -> AuditChainBreak? {
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
            if AuditChain.hash(previous: previous, fields: row.hashedFields) != row.hash {
                return AuditChainBreak(rowID: row.id!, reason: "its contents do not match its hash: the row was edited")
            }
            previous = row.hash
            expectedID += 1
        }
        return nil
    }
}
