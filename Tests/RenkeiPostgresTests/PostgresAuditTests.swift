import Foundation
import Testing
import RenkeiCore
import RenkeiStore
@testable import RenkeiPostgres

/// The audit chain on a real PostgreSQL 15: nodes appending at once make one ordered chain, the
/// hashes are the SQLite store's own, and every change made behind Renkei's back — by the
/// superuser with the triggers off, or by a node's role — is found or refused.
@Suite(.serialized) struct PostgresAuditTests {
    static let key = Array("renkei-audit-key: city hall, 2026".utf8)

    func entry(_ number: Int, node: String) -> AuditEntry {
        AuditEntry(uid: 1001, user: "tanaka", pid: 4000 + Int64(number), request: #"{"rerun":\#(number),"node":"\#(node)"}"#,
                   reason: number % 3 == 0 ? nil : "ticket \(number)", result: "accepted")
    }

    /// `count` appends from `session`, each in its own transaction, at times with sub-millisecond parts.
    func append(_ count: Int, node: String, key: [UInt8]? = nil, _ session: PostgresSession) async throws {
        for number in 0..<count {
            let at = Date(timeIntervalSince1970: 1_796_074_200.123_456 + Double(number) * 0.001_7)
            try await PostgresAudit.append(entry(number, node: node), runID: number % 2 == 0 ? Int64(number) : nil, at: at, key: key, session)
        }
    }

    func psql(_ postgres: ScratchPostgres, _ sql: String, user: String = "renkei") throws -> String {
        let result = try postgres.psql(sql, user: user)
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What the superuser can do: switch the append-only triggers off, change the table, switch them on.
    func behindRenkeisBack(_ postgres: ScratchPostgres, _ sql: String) throws {
        _ = try psql(postgres, "ALTER TABLE audit DISABLE TRIGGER USER; \(sql); ALTER TABLE audit ENABLE TRIGGER USER")
    }

    @Test func twoNodesAppendingAtOnceMakeOneOrderedChain() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a", name: "node a") { a in
            try await postgres.withSession(user: "renkei_b", name: "node b") { b in
                async let fromA: Void = append(200, node: "a", a)
                async let fromB: Void = append(200, node: "b", b)
                _ = try await (fromA, fromB)
            }
        }
        #expect(try psql(postgres, "SELECT count(*), min(id), max(id), count(DISTINCT id) FROM audit") == "400|1|400|400")
        #expect(try psql(postgres, #"SELECT request LIKE '%"node":"a"}' AS a, count(*) FROM audit GROUP BY 1 ORDER BY 1"#) == "f|200\nt|200")
        // Each row chains on the row before it by id, whichever node wrote either.
        #expect(try psql(postgres, "SELECT count(*) FROM audit r JOIN audit p ON p.id = r.id - 1 WHERE r.previous_hash = p.hash") == "399")
        let last = try psql(postgres, "SELECT hash FROM audit WHERE id = 400")
        #expect(try psql(postgres, "SELECT seq || '|' || hash FROM audit_head") == "400|\(last)")

        let findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(findings.altered == [])
        #expect(findings.rows == 400)
        #expect(findings.head == AuditHead(seq: 400, hash: last))
        let rows = try await postgres.withSession { try await PostgresAudit.rows($0) }
        #expect(rows.map(\.id) == (1...400).map { Int64($0) })
    }

    @Test func rowsAreHashedExactlyAsTheSQLiteStoreHashesThem() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-audit-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, key) in [("plain", nil), ("keyed", Self.key)] as [(String, [UInt8]?)] {
            let postgres = try await ScratchPostgres().migrated()
            let sqlite = try RunStore.openForWriting(at: "\(directory)/\(name).db", group: nil, auditSeal: AuditSeal(key: key))
            let at = Date(timeIntervalSince1970: 1_796_074_200.987_654)
            var written: [AuditRecord] = []
            for (index, entry) in [entry(1, node: "a"), entry(3, node: "a")].enumerated() {
                try await sqlite.appendAudit(entry, runID: index == 0 ? 5120 : nil, at: at)
                try await postgres.withSession(user: "renkei_a") { session in
                    written.append(try await PostgresAudit.append(entry, runID: index == 0 ? 5120 : nil, at: at, key: key, session))
                }
            }
            // The same rows in the same places: the same fields, sealing and hashes, byte for byte,
            // both as append returned them and as PostgreSQL gives them back.
            let fromSQLite = try sqlite.audit().map(\.link)
            let fromPostgres = try await postgres.withSession { try await PostgresAudit.rows($0) }.map(\.link)
            #expect(fromSQLite.count == 2)
            #expect(written.map(\.link) == fromSQLite, "\(name)")
            #expect(fromPostgres == fromSQLite, "\(name)")
            #expect(fromPostgres.map(\.sealing) == Array(repeating: key == nil ? .plain : .keyed, count: 2))
            #expect(try psql(postgres, "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM audit WHERE id = 2")
                    == "2026-11-30 21:30:00.988000")
            let findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: key) }
            #expect(findings.altered == [], "\(name)")
        }
    }

    @Test func aRowEditedWithTheTriggersOffIsNamed() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a") { try await append(10, node: "a", $0) }
        #expect(try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }.altered == [])

        try behindRenkeisBack(postgres, "UPDATE audit SET result = 'refused: not permitted' WHERE id = 6")
        let findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(findings.altered == ["audit row 6: its contents do not match its hash: the row was edited"])
    }

    @Test func aDeletedTailThenADeletedMiddleRowAreFound() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_b") { try await append(10, node: "b", $0) }
        let head = try psql(postgres, "SELECT hash FROM audit WHERE id = 10")

        // The newest row: the chain that is left verifies, only audit_head still names row 10.
        try behindRenkeisBack(postgres, "DELETE FROM audit WHERE id = 10")
        var findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(findings.altered == ["the newest row (10) was deleted: audit_head says the chain ends at row 10 (hash \(head.prefix(16))…), the table ends at row 9"])

        // A row in the middle: the gap is named.
        try behindRenkeisBack(postgres, "DELETE FROM audit WHERE id = 4")
        findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(findings.altered.first == "audit row 4 is missing (the row before is 3, the next is 5): deleted")
        #expect(findings.altered.count == 2)
    }

    @Test func aRowSlippedInByANodeRoleWithoutTheHeadIsFound() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a") { try await append(3, node: "a", $0) }
        // A forger with a node's role appends a row whose plain hash is right, but not the head.
        let previous = try psql(postgres, "SELECT hash FROM audit WHERE id = 3")
        var forged = try AuditRecord.decoded(id: 4, millis: 1_796_074_300_000, uid: 0, user: "root", pid: 1, request: #"{"cancel":9}"#,
                                             reason: nil, result: "accepted", runID: nil, previousHash: previous, hash: "", sealing: "sha256")
        forged.hash = AuditChain.hash(previous: previous, fields: forged.link.fields)
        _ = try psql(postgres, """
            INSERT INTO audit (id, at, uid, "user", pid, request, result, previous_hash, hash, sealing)
            VALUES (4, timestamptz 'epoch' + interval '1796074300 seconds', 0, 'root', 1, '{"cancel":9}', 'accepted', '\(previous)', '\(forged.hash)', 'sha256')
            """, user: "renkei_b")
        let findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(findings.altered == ["audit row 4 is beyond audit_head (audit_head says the chain ends at row 3 (hash \(previous.prefix(16))…)): written without moving the head, by something other than Renkei, or the head was set back"])

        // The next append by Renkei does not chain after a row it did not write: it refuses, names
        // what to look at, and records nothing.
        let refused = await #expect(throws: PostgresProblem.self) {
            try await postgres.withSession(user: "renkei_a") { try await PostgresAudit.append(entry(9, node: "a"), runID: nil, key: nil, $0) }
        }
        #expect(refused?.message.contains("audit_head says the chain ends at row 3, but the audit table already holds row 4") == true, "\(String(describing: refused))")
        #expect(refused?.message.contains("nothing was recorded") == true)
        #expect(try psql(postgres, "SELECT count(*) || '|' || (SELECT seq FROM audit_head) FROM audit") == "4|3")
    }

    @Test func keyedRowsVerifyWithTheKeyAndNotWithAnother() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a") { a in
            try await postgres.withSession(user: "renkei_b") { b in
                for round in 0..<3 {
                    try await PostgresAudit.append(entry(round, node: "a"), runID: nil, key: Self.key, a)
                    try await PostgresAudit.append(entry(round, node: "b"), runID: nil, key: Self.key, b)
                }
            }
        }
        #expect(try psql(postgres, "SELECT DISTINCT sealing FROM audit") == "hmac-sha256")
        let withKey = try await postgres.withSession { try await PostgresAudit.verify($0, key: Self.key) }
        #expect(withKey.altered == [])
        #expect(withKey.rows == 6)

        let wrong = try await postgres.withSession { try await PostgresAudit.verify($0, key: Array("another key".utf8)) }
        #expect(wrong.altered == ["audit row 1: its contents do not match its HMAC: the row was edited, or its hash was made without the key (or with another key)"])

        let without = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(without.altered == [])
        #expect(without.notes.contains { $0.hasPrefix("audit rows 1–6 are keyed (HMAC-SHA256) and no key was given") }, "\(without.notes)")

        // A keyed row edited and rehashed without the key (plain SHA-256) is found with the key.
        let previous = try psql(postgres, "SELECT previous_hash FROM audit WHERE id = 5")
        let row = try #require(try await postgres.withSession { try await PostgresAudit.rows($0) }.first { $0.id == 5 })
        try behindRenkeisBack(postgres, "UPDATE audit SET hash = '\(AuditChain.hash(previous: previous, fields: row.link.fields))', sealing = 'sha256' WHERE id = 5")
        let rehashed = try await postgres.withSession { try await PostgresAudit.verify($0, key: Self.key) }
        #expect(rehashed.altered.first?.hasPrefix("audit row 5 is not keyed (plain SHA-256) though the key is in use from row 1") == true, "\(rehashed.altered)")
    }

    @Test func aNodeRoleCannotEditOrDeleteAuditRows() async throws {
        let postgres = try await ScratchPostgres().migrated()
        try await postgres.withSession(user: "renkei_a") { try await append(2, node: "a", $0) }
        let before = try psql(postgres, "SELECT id, result, hash FROM audit ORDER BY id")
        for sql in ["UPDATE audit SET result = 'refused: not permitted' WHERE id = 1", "DELETE FROM audit WHERE id = 2", "TRUNCATE audit"] {
            let refused = try postgres.psql(sql, user: "renkei_b")
            #expect(refused.status != 0, "\(sql)")
            #expect(refused.stderr.contains("the audit log is append-only"), "\(sql): \(refused.stderr)")
        }
        let refused = await #expect(throws: PostgresProblem.self) {
            try await postgres.withSession(user: "renkei_a") { try await $0.execute("DELETE FROM audit", doing: "deleting the audit log") }
        }
        #expect(refused?.message.contains("the audit log is append-only") == true, "\(String(describing: refused))")
        #expect(try psql(postgres, "SELECT id, result, hash FROM audit ORDER BY id") == before)
        #expect(try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }.altered == [])
    }

    @Test func aRequestRolledBackTakesItsAuditRowWithItAndLeavesNoGap() async throws {
        let postgres = try await ScratchPostgres().migrated()
        struct TargetRefused: Error {}
        try await postgres.withSession(user: "renkei_a") { session in
            try await PostgresAudit.append(entry(1, node: "a"), runID: nil, key: nil, session)
            // A rerun request whose own write fails after its audit row was chained: both go.
            await #expect(throws: TargetRefused.self) {
                try await session.transaction(doing: "recording a rerun") {
                    try await PostgresAudit.append(entry(2, node: "a"), runID: nil, key: nil, inTransactionOf: session)
                    throw TargetRefused()
                }
            }
            // Outside a transaction the head's lock would not hold: refused, nothing written.
            let outside = await #expect(throws: PostgresProblem.self) {
                try await PostgresAudit.append(entry(3, node: "a"), runID: nil, key: nil, inTransactionOf: session)
            }
            #expect(outside?.sqlState == "25P01", "\(String(describing: outside))")
            // A request and its row committed together.
            let row = try await session.transaction(doing: "recording a hold") {
                try await PostgresAudit.append(entry(4, node: "a"), runID: nil, key: nil, inTransactionOf: session)
            }
            #expect(row.id == 2)
        }
        #expect(try psql(postgres, "SELECT string_agg(id::text, ',' ORDER BY id) FROM audit") == "1,2")
        #expect(try psql(postgres, "SELECT pid FROM audit WHERE id = 2") == "4004")
        #expect(try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }.altered == [])
    }

    @Test func aChainCopiedFromSQLiteGoesOnInPostgreSQLAsOneChain() async throws {
        let source = try StoreCopyTests.SourceStore()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        #expect(copy.status == 0, "\(copy.stdout) \(copy.stderr)")
        let sqliteHead = try source.sql("SELECT id || '|' || hash FROM audit ORDER BY id DESC LIMIT 1")
        #expect(sqliteHead.hasPrefix("2|"))

        try await postgres.withSession(user: "renkei_a") { a in
            try await postgres.withSession(user: "renkei_b") { b in
                async let fromA: Void = append(3, node: "a", a)
                async let fromB: Void = append(3, node: "b", b)
                _ = try await (fromA, fromB)
            }
        }
        #expect(try psql(postgres, "SELECT string_agg(id::text, ',' ORDER BY id) FROM audit") == "1,2,3,4,5,6,7,8")
        #expect(try psql(postgres, "SELECT id || '|' || previous_hash FROM audit WHERE id = 3") == "3|" + sqliteHead.dropFirst(2))
        // SQLite's rows are untouched in PostgreSQL: the same hashes as in the source file.
        let auditColumns = "id, uid, \"user\", pid, request, reason, result, run_id, previous_hash, hash, sealing"
        #expect(try psql(postgres, "SELECT \(auditColumns) FROM audit WHERE id <= 2 ORDER BY id") == (try source.sql("SELECT \(auditColumns) FROM audit ORDER BY id")))

        let findings = try await postgres.withSession { try await PostgresAudit.verify($0, key: nil) }
        #expect(findings.altered == [])
        #expect(findings.rows == 8)
        #expect(findings.head?.seq == 8)
        #expect(try psql(postgres, "SELECT seq FROM audit_head") == "8")
    }
}
