import Foundation
import PostgresNIO
import RenkeiCore
import RenkeiStore

/// The audit chain on PostgreSQL: one ordered chain however many nodes append to it.
///
/// Each append locks `audit_head` (`FOR UPDATE`), so appends from every node take turns; the new
/// row's id is the head's `seq + 1`, given explicitly, so the chain order is the id order and has
/// no gap even when a transaction rolls back (an identity sequence would leave one). The hash is
/// made exactly as the SQLite store makes it (`AuditRecord`'s hashed fields, the time in whole
/// milliseconds), so a chain copied from SQLite goes on here as one chain, and
/// `AuditVerification` checks both alike.
public enum PostgresAudit {
    /// Appends `entry` to the chain in a transaction of its own and returns the row.
    /// `key`: the HMAC key (a keyed row), nil for a plain SHA-256 row.
    @discardableResult
    public static func append(_ entry: AuditEntry, runID: Int64?, at now: Date = Date(), key: [UInt8]?,
                              _ session: PostgresSession) async throws -> AuditRecord {
        try await session.transaction(doing: "recording the audit row") {
            try await append(entry, runID: runID, at: now, key: key, inTransactionOf: session)
        }
    }

    /// Appends `entry` inside the transaction the caller has open on `session`, so that a request
    /// (a rerun, a hold) and its audit row commit together or not at all. The head stays locked
    /// until the caller's COMMIT or ROLLBACK: keep the transaction short. Without an open
    /// transaction it fails (SQLSTATE 25P01) and writes nothing.
    @discardableResult
    public static func append(_ entry: AuditEntry, runID: Int64?, at now: Date = Date(), key: [UInt8]?,
                              inTransactionOf session: PostgresSession) async throws -> AuditRecord {
        // A savepoint exists only inside a transaction: outside one, the head's lock would end
        // with its own statement and two nodes could chain after the same row.
        try await session.execute("SAVEPOINT renkei_audit_append", doing: "recording the audit row (inside the request's transaction)")
        try await session.run("""
            INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, \(AuditChain.genesis)) ON CONFLICT (id) DO NOTHING
            """, doing: "recording the audit row: creating the audit head")
        let head = try await session.run("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
                                         doing: "recording the audit row: locking the audit head")
        let (seq, previous) = try head.first!.decode((Int64, String).self)
        // Stored times keep milliseconds; hash what is stored (as RenkeiStore does).
        let millis = Int64((now.timeIntervalSince1970 * 1000).rounded())
        var row = try AuditRecord.decoded(id: seq + 1, millis: millis, uid: entry.uid, user: entry.user, pid: entry.pid,
                                          request: entry.request, reason: entry.reason, result: entry.result, runID: runID,
                                          previousHash: previous, hash: "", sealing: (key == nil ? AuditSealing.plain : .keyed).rawValue)
        row.hash = AuditChain.hash(previous: previous, fields: row.link.fields, key: key)
        do {
            try await session.run("""
                INSERT INTO audit (id, at, uid, "user", pid, request, reason, result, run_id, previous_hash, hash, sealing)
                VALUES (\(seq + 1), timestamptz 'epoch' + \(millis) * interval '1 millisecond', \(entry.uid), \(entry.user),
                        \(entry.pid), \(entry.request), \(entry.reason), \(entry.result), \(runID),
                        \(previous), \(row.hash), \(row.sealing!.rawValue))
                """, doing: "recording the audit row \(seq + 1)")
        } catch let problem as PostgresProblem where problem.sqlState == "23505" {
            throw PostgresProblem(kind: .server, address: problem.address, sqlState: problem.sqlState, message: """
                recording the audit row on \(problem.address): audit_head says the chain ends at row \(seq), but the audit table \
                already holds row \(seq + 1): audit_head was edited or reset behind Renkei's back, so nothing was recorded and the \
                request was not carried out. Find what changed with: psql -c 'SELECT seq, hash FROM audit_head' and \
                'SELECT id, hash FROM audit ORDER BY id DESC LIMIT 3' (as the role that owns Renkei's tables); keep the database as evidence
                """)
        }
        try await session.run("UPDATE audit_head SET seq = \(seq + 1), hash = \(row.hash) WHERE id = 1",
                              doing: "recording the audit row: moving the audit head to row \(seq + 1)")
        try await session.execute("RELEASE SAVEPOINT renkei_audit_append", doing: "recording the audit row \(seq + 1)")
        return row
    }

    /// The audit rows, oldest first (by id, the chain order), at or after `since`.
    public static func rows(_ session: PostgresSession, since: Date? = nil) async throws -> [AuditRecord] {
        let columns = """
            SELECT id, (round(extract(epoch FROM at) * 1000))::bigint, uid, "user", pid::bigint, request, reason, result, run_id, previous_hash, hash, sealing
            FROM audit
            """
        let rows: [PostgresRow]
        if let since {
            let millis = Int64((since.timeIntervalSince1970 * 1000).rounded())
            rows = try await session.run("\(unescaped: columns) WHERE at >= timestamptz 'epoch' + \(millis) * interval '1 millisecond' ORDER BY id",
                                         doing: "reading the audit chain")
        } else {
            rows = try await session.run("\(unescaped: columns) ORDER BY id", doing: "reading the audit chain")
        }
        return try rows.map { row in
            let (id, millis, uid, user, pid, request, reason, result, runID, previous, hash, sealing)
                = try row.decode((Int64, Int64, Int64, String, Int64, String, String?, String, Int64?, String, String, String).self)
            return try AuditRecord.decoded(id: id, millis: millis, uid: uid, user: user, pid: pid, request: request, reason: reason,
                                           result: result, runID: runID, previousHash: previous, hash: hash, sealing: sealing)
        }
    }

    /// `audit_head`: where the next append chains on; nil when no append ever made it.
    public static func head(_ session: PostgresSession) async throws -> AuditHead? {
        let rows = try await session.run("SELECT seq, hash FROM audit_head WHERE id = 1", doing: "reading the audit head")
        return try rows.first.map { row in
            let (seq, hash) = try row.decode((Int64, String).self)
            return AuditHead(seq: seq, hash: hash)
        }
    }

    /// Checks the whole chain as `renkeictl audit --verify` checks SQLite's (`AuditVerification`:
    /// every link, every hash — keyed rows with `key` — and ids 1…N without a gap), and that
    /// `audit_head` is the last row: a deleted tail leaves the head ahead of the table, rows
    /// slipped in without the head are behind it. One REPEATABLE READ snapshot, so appends
    /// going on meanwhile do not show as a difference. `journal`: the heads renkeid sent there.
    public static func verify(_ session: PostgresSession, key: [UInt8]?, keyedFrom: Int64 = 1,
                              journal: JournalHeads = .unreadable("only the PostgreSQL tables were read")) async throws -> AuditFindings {
        let (records, head): ([AuditRecord], AuditHead?) = try await session.transaction(doing: "verifying the audit chain") {
            try await session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", doing: "verifying the audit chain")
            let records = try await Self.rows(session)
            let head = try await Self.head(session)
            return (records, head)
        }
        let links: [AuditLink] = records.map { $0.link }
        // The table's own last id as the "sequence": PostgreSQL keeps no sqlite_sequence; the
        // head is checked below, in PostgreSQL's words.
        var findings = AuditVerification.verify(links, sequence: links.last?.id ?? 0, journal: journal, key: key, keyedFrom: keyedFrom)
        if let problem = headProblem(head, last: links.last) { findings.altered.append(problem) }
        return findings
    }

    /// What is wrong between `audit_head` and the table's last row, if anything.
    static func headProblem(_ head: AuditHead?, last: AuditLink?) -> String? {
        let lastID = last?.id ?? 0
        guard let head else {
            return last == nil ? nil : "audit_head is missing, but the audit table ends at row \(lastID): the head row was deleted behind Renkei's back; the next append would chain after the genesis, not after row \(lastID)"
        }
        let headText = "audit_head says the chain ends at row \(head.seq) (hash \(head.hash.prefix(16))…)"
        if head.seq > lastID {
            let rows = lastID + 1 == head.seq ? "the newest row (\(head.seq)) was" : "the newest \(head.seq - lastID) rows (\(lastID + 1)–\(head.seq)) were"
            return last == nil ? "the audit table was wiped: \(headText), the table has no rows"
                               : "\(rows) deleted: \(headText), the table ends at row \(lastID)"
        }
        if head.seq < lastID {
            let rows = head.seq + 1 == lastID ? "audit row \(lastID) is" : "audit rows \(head.seq + 1)–\(lastID) are"
            return "\(rows) beyond audit_head (\(headText)): written without moving the head, by something other than Renkei, or the head was set back"
        }
        if let last, head.hash != last.hash {
            return "audit row \(lastID) is not the row audit_head holds (\(headText), the row's hash is \(last.hash.prefix(16))…): the row or the head was changed afterwards"
        }
        if last == nil, head.hash != AuditChain.genesis {
            return "audit_head is at row 0 with a hash other than the genesis (\(head.hash.prefix(16))…): it was edited"
        }
        return nil
    }
}

extension AuditRecord {
    /// An audit row read from PostgreSQL (or about to be written), made through the record's own
    /// decoding, so its hashed fields (`link`) are exactly those RenkeiStore hashes.
    static func decoded(id: Int64, millis: Int64, uid: Int64, user: String, pid: Int64, request: String, reason: String?, result: String,
                        runID: Int64?, previousHash: String, hash: String, sealing: String) throws -> AuditRecord {
        var fields: [String: Any] = ["id": id, "at": millis, "uid": uid, "user": user, "pid": pid, "request": request, "result": result,
                                     "previousHash": previousHash, "hash": hash, "sealing": sealing]
        if let reason { fields["reason"] = reason }
        if let runID { fields["runId"] = runID }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(AuditRecord.self, from: JSONSerialization.data(withJSONObject: fields))
    }
}
