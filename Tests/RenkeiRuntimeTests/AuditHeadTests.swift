import Foundation
import Testing
import RenkeiCore
@testable import RenkeiStore

/// The sealed audit head: rows written through `renkeictl run --local` under a private journald,
/// the store then altered with the `sqlite3` shell as someone with write access to it would, and
/// `renkeictl audit --verify` must find and name each change.
@Suite(.serialized) struct AuditHeadTests {
    /// A store with `rows` audit rows, each head sent to the scratch's own journal.
    static func sealedStore(rows: Int = 5, keyFile: String? = nil) throws -> Scratch {
        let scratch = try Scratch()
        scratch.writeJob("link", """
            steps:
              - name: export
                run: ["/bin/true"]
            """)
        var script = ""
        for row in 1...rows {
            script += "\(renkeictl) run link --local --jobs \(scratch.jobs) --state \(scratch.state) --reason 'ticket \(row)' || exit 1\n"
        }
        var environment = ProcessInfo.processInfo.environment
        environment["RENKEI_AUDIT_KEY_FILE"] = keyFile
        let helper = JournalTests.repository.appendingPathComponent("Tests/Support/with-private-journald.sh").path
        let run = try execute("/usr/bin/unshare", ["--mount", "--propagation=private", helper, scratch.root, "/bin/sh", "-c", script],
                              environment: environment)
        #expect(run.status == 0, "renkeictl run --local under a private journald: \(run.stdout) \(run.stderr)")
        return scratch
    }

    static func database(_ scratch: Scratch) -> String { scratch.state + "/renkei.db" }

    /// What someone with write access to the file does: the append-only triggers are no obstacle.
    static func tamper(_ scratch: Scratch, _ sql: String) throws {
        let result = try execute("/usr/bin/sqlite3", [database(scratch), "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; " + sql])
        #expect(result.status == 0, "sqlite3: \(result.stderr)")
    }

    static func verify(_ scratch: Scratch, _ extra: [String] = [], journal: Bool = true) throws -> Finished {
        var arguments = ["audit", "--verify", "--state", scratch.state]
        arguments += journal ? ["--journal-directory", scratch.root + "/journal"] : ["--no-journal"]
        var environment = ProcessInfo.processInfo.environment
        environment["RENKEI_AUDIT_KEY_FILE"] = nil
        return try execute(renkeictl, arguments + extra, environment: environment)
    }

    static func rows(_ scratch: Scratch) throws -> [AuditRecord] {
        try RunStore.openForReading(at: database(scratch)).audit()
    }

    /// Every row from `from` on, re-hashed after `row`'s edit, as SQL: what someone who knows
    /// the (public) chain rule but not the key can do.
    static func recomputed(_ rows: [AuditRecord], editing id: Int64, reason: String, key: [UInt8]? = nil, sealing: AuditSealing? = nil) -> String {
        var sql = ""
        var previous = AuditChain.genesis
        for var row in rows {
            if row.id! == id { row.reason = reason }
            if row.id! >= id {
                row.previousHash = previous
                row.hash = AuditChain.hash(previous: previous, fields: row.hashedFields, key: key)
                let mode = sealing.map { ", sealing = '\($0.rawValue)'" } ?? ""
                sql += "UPDATE audit SET reason = '\(row.reason ?? "")', previous_hash = '\(row.previousHash)', hash = '\(row.hash)'\(mode) WHERE id = \(row.id!);\n"
            }
            previous = row.hash
        }
        return sql
    }

    /// Anyone may log an entry that looks like a head; only those journald says come from root,
    /// the store's owner or its group's members count (`_UID` is journald's, not the sender's).
    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aHeadLoggedByAnotherUserIsNotTakenForOne() throws {
        let scratch = try Self.sealedStore(rows: 3)
        let fields = scratch.root + "/forged-head"
        try """
            MESSAGE=audit row 9: forged
            MESSAGE_ID=\(EventKind.auditAppended.messageID)
            RENKEI_AUDIT_SEQ=9
            RENKEI_AUDIT_HASH=\(String(repeating: "f", count: 64))
            RENKEI_AUDIT_STORE=\(Self.database(scratch))

            """.write(toFile: fields, atomically: true, encoding: .utf8)
        chmod(fields, 0o644)
        let helper = JournalTests.repository.appendingPathComponent("Tests/Support/with-private-journald.sh").path
        let logged = try execute("/usr/bin/unshare", ["--mount", "--propagation=private", helper, scratch.root, "/usr/bin/setpriv",
                                                      "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/logger", "--journald=\(fields)"])
        #expect(logged.status == 0, "\(logged.stderr)")
        let forged = try JournalTests.read(scratch, filter: ["RENKEI_AUDIT_SEQ=9"])
        #expect(forged.count == 1 && forged.first?["_UID"] as? String == "65534", "the forged entry is in the journal: \(forged)")
        let verified = try Self.verify(scratch)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("audit log intact: 3 rows"), "\(verified.stdout)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func eachAppendSendsTheNewHeadToTheJournalAndAnUntouchedStorePasses() throws {
        let scratch = try Self.sealedStore()
        let rows = try Self.rows(scratch)
        #expect(rows.count == 5)
        let entries = try JournalTests.read(scratch, filter: ["MESSAGE_ID=\(EventKind.auditAppended.messageID)"])
        #expect(entries.count == 5)
        for (row, entry) in zip(rows, entries) {
            #expect(entry["RENKEI_AUDIT_SEQ"] as? String == String(row.id!))
            #expect(entry["RENKEI_AUDIT_HASH"] as? String == row.hash)
            #expect(entry["RENKEI_AUDIT_STORE"] as? String == Self.database(scratch))
            #expect(entry["RENKEI_AUDIT_SEALING"] as? String == "sha256")
            #expect(entry["RENKEI_RUN_ID"] as? String == row.runId.map(String.init))
            #expect(entry["RENKEI_JOB"] as? String == "link")
            #expect(entry["SYSLOG_IDENTIFIER"] as? String == "renkeictl")
            #expect((entry["MESSAGE"] as? String)?.hasPrefix("audit row \(row.id!): run by ") == true, "\(entry["MESSAGE"] ?? "")")
        }
        let verify = try Self.verify(scratch)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout == "audit log intact: 5 rows, hash chain verified\n  head: row 5, hash \(rows[4].hash.prefix(16))…; the journal's 5 head(s) for this store match the table\n")
        #expect(verify.stderr.isEmpty, "\(verify.stderr)")

        // The report carries the head too.
        let text = try execute(renkeictl, ["report", "--state", scratch.state, "--jobs", scratch.jobs, "--lang", "en"])
        #expect(text.stdout.contains("Audit log head: row 5, hash"), "\(text.stdout)")
        #expect(text.stdout.contains("\n  \(rows[4].hash)\n"), "the whole hash, on a line of its own within 80 columns: \(text.stdout)")
        let json = try execute(renkeictl, ["report", "--state", scratch.state, "--jobs", scratch.jobs, "--format", "json"])
        let head = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["audit_head"] as? [String: Any])
        #expect(head["seq"] as? Int == 5)
        #expect(head["hash"] as? String == rows[4].hash)
        let html = try execute(renkeictl, ["report", "--state", scratch.state, "--jobs", scratch.jobs, "--format", "html", "--lang", "en"])
        #expect(html.stdout.contains("<footer><p class=\"meta\">Audit log head: row 5, hash \(rows[4].hash)</p></footer>"))
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func renkeidSendsTheHeadOfEachRequestItAudits() throws {
        let scratch = try Self.sealedStore(rows: 1)
        let socket = scratch.root + "/control.sock"
        let locations = "--jobs \(scratch.jobs) --state \(scratch.state) --socket \(socket)"
        // renkeid serves three audited requests (hold, release, run), then stops.
        let script = """
            \(renkeid) \(locations) --log-target journal &
            daemon=$!
            tries=0
            while [ ! -S \(socket) ] && [ $tries -lt 1500 ]; do sleep 0.02; tries=$((tries + 1)); done
            \(renkeictl) hold link --reason 'ticket 7' \(locations) || exit 1
            \(renkeictl) release link \(locations) || exit 1
            \(renkeictl) run link --reason 'ticket 8' --wait \(locations) || exit 1
            kill $daemon
            wait $daemon
            \(renkeictl) report --journal-summary \(locations) > /dev/null || exit 1
            """
        let helper = JournalTests.repository.appendingPathComponent("Tests/Support/with-private-journald.sh").path
        let run = try execute("/usr/bin/unshare", ["--mount", "--propagation=private", helper, scratch.root, "/bin/sh", "-c", script])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        let rows = try Self.rows(scratch)
        #expect(rows.count == 4)
        let heads = try JournalTests.read(scratch, filter: ["MESSAGE_ID=\(EventKind.auditAppended.messageID)", "SYSLOG_IDENTIFIER=renkeid"])
        #expect(heads.compactMap { $0["RENKEI_AUDIT_SEQ"] as? String } == ["2", "3", "4"])
        #expect(heads.compactMap { $0["RENKEI_AUDIT_HASH"] as? String } == rows.dropFirst().map(\.hash))
        #expect(heads.allSatisfy { $0["RENKEI_REQUESTED_BY"] as? String == "root" && $0["RENKEI_JOB"] as? String == "link" })
        #expect(heads.last?["RENKEI_RUN_ID"] as? String == rows.last?.runId.map(String.init), "the run's row names the run it created")
        // The report's event is one more copy of the head.
        let report = try #require(try JournalTests.read(scratch, filter: ["MESSAGE_ID=\(EventKind.reportWritten.messageID)"]).first)
        #expect(report["RENKEI_AUDIT_SEQ"] as? String == "4")
        #expect(report["RENKEI_AUDIT_HASH"] as? String == rows.last?.hash)
        #expect(report["RENKEI_AUDIT_STORE"] as? String == Self.database(scratch))
        let verify = try Self.verify(scratch)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("head: row 4, hash \(rows[3].hash.prefix(16))…; the journal's 5 head(s) for this store match the table"), "\(verify.stdout)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func anEditedRowIsNamed() throws {
        let scratch = try Self.sealedStore()
        try Self.tamper(scratch, "UPDATE audit SET reason = 'nothing to see' WHERE id = 3")
        let verify = try Self.verify(scratch)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("audit row 3: its contents do not match its hash: the row was edited"), "\(verify.stdout)")
        #expect(verify.stderr.contains("the audit log was altered (1 finding(s) above)"), "\(verify.stderr)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aRowDeletedInTheMiddleIsNamed() throws {
        let scratch = try Self.sealedStore()
        try Self.tamper(scratch, "DELETE FROM audit WHERE id = 3")
        let verify = try Self.verify(scratch)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("audit row 3 is missing (the row before is 2, the next is 4): deleted"), "\(verify.stdout)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func theNewestRowsDeletedAreNamedByTheCounterAndByTheJournalWhenTheCounterIsEditedToo() throws {
        let scratch = try Self.sealedStore()
        try Self.tamper(scratch, "DELETE FROM audit WHERE id >= 4")
        let verify = try Self.verify(scratch)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("the newest 2 rows (4–5) were deleted: SQLite counted 5 row(s) written (sqlite_sequence), the table ends at row 3"), "\(verify.stdout)")
        #expect(verify.stdout.contains("the newest 2 rows (4–5) were deleted: the journal sealed row 5 (hash "), "\(verify.stdout)")

        // Whoever deletes rows can lower SQLite's counter as well: the journal still knows.
        try Self.tamper(scratch, "UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit'")
        let again = try Self.verify(scratch)
        #expect(again.status == 1)
        #expect(!again.stdout.contains("sqlite_sequence"), "\(again.stdout)")
        #expect(again.stdout.contains("the newest 2 rows (4–5) were deleted: the journal sealed row 5 (hash "), "\(again.stdout)")
        // Without the journal, that is beyond what the table alone can show; it says so.
        let alone = try Self.verify(scratch, journal: false)
        #expect(alone.status == 0)
        #expect(alone.stderr.contains("the journal was not checked: --no-journal was given. Without it, the newest rows deleted together with sqlite_sequence"), "\(alone.stderr)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aWipedTableIsNamed() throws {
        let scratch = try Self.sealedStore()
        try Self.tamper(scratch, "DELETE FROM audit")
        let counted = try Self.verify(scratch, journal: false)
        #expect(counted.status == 1)
        #expect(counted.stdout.contains("the audit table is empty, but SQLite counted 5 row(s) written to it (sqlite_sequence): the table was wiped"), "\(counted.stdout)")

        try Self.tamper(scratch, "DELETE FROM sqlite_sequence WHERE name = 'audit'")
        let verify = try Self.verify(scratch)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("the audit table was wiped: the journal sealed row 5 (hash "), "\(verify.stdout)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aChainRecomputedAfterAnEditIsFoundOnlyThroughTheJournal() throws {
        let scratch = try Self.sealedStore()
        let rows = try Self.rows(scratch)
        try Self.tamper(scratch, Self.recomputed(rows, editing: 2, reason: "routine"))
        #expect(try Self.rows(scratch)[1].reason == "routine")
        // The chain itself holds: a plain chain cannot tell.
        let alone = try Self.verify(scratch, journal: false)
        #expect(alone.status == 0, "\(alone.stdout)")
        let verify = try Self.verify(scratch)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("audit row 2 is not the row the journal sealed at "), "\(verify.stdout)")
        #expect(verify.stdout.contains("rows were edited or replaced and the chain recomputed from row 2 or before"), "\(verify.stdout)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aForgedRowAppendedWithACorrectHashIsNamed() throws {
        let scratch = try Self.sealedStore()
        let last = try #require(try Self.rows(scratch).last)
        var forged = last
        forged.id = 6
        forged.reason = "approved by the section chief"
        forged.previousHash = last.hash
        forged.hash = AuditChain.hash(previous: last.hash, fields: forged.hashedFields)
        try Self.tamper(scratch, """
            INSERT INTO audit (id, at, uid, user, pid, request, reason, result, run_id, previous_hash, hash, sealing)
            SELECT 6, at, uid, user, pid, request, '\(forged.reason!)', result, run_id, '\(forged.previousHash)', '\(forged.hash)', sealing FROM audit WHERE id = 5
            """)
        #expect(try Self.rows(scratch).count == 6)
        #expect(try Self.verify(scratch, journal: false).status == 0, "the chain and the counter agree with the forged row")
        let verify = try Self.verify(scratch)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("audit row 6 is in no journal entry (the journal sealed row 5 (hash "), "\(verify.stdout)")
        #expect(verify.stdout.contains("a forged row"), "\(verify.stdout)")
    }

    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aKeyedChainCannotBeRecomputedWithoutTheKeyEvenWithNoJournal() throws {
        let keyDirectory = try Scratch()
        let keyFile = keyDirectory.root + "/audit.key"
        let key = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(key), attributes: [.posixPermissions: 0o600]))
        let scratch = try Self.sealedStore(keyFile: keyFile)
        let rows = try Self.rows(scratch)
        #expect(rows.map(\.sealing) == Array(repeating: .keyed, count: 5))
        let entries = try JournalTests.read(scratch, filter: ["MESSAGE_ID=\(EventKind.auditAppended.messageID)"])
        #expect(entries.compactMap { $0["RENKEI_AUDIT_SEALING"] as? String } == Array(repeating: "hmac-sha256", count: 5))
        let intact = try Self.verify(scratch, ["--key-file", keyFile], journal: false)
        #expect(intact.status == 0, "\(intact.stdout) \(intact.stderr)")
        #expect(intact.stdout.hasPrefix("audit log intact: 5 rows, hash chain verified"))

        // A plain SHA-256 recompute, leaving the rows marked keyed: their HMACs no longer fit.
        try Self.tamper(scratch, Self.recomputed(rows, editing: 2, reason: "routine"))
        let recomputed = try Self.verify(scratch, ["--key-file", keyFile], journal: false)
        #expect(recomputed.status == 1)
        #expect(recomputed.stdout.contains("audit row 2: its contents do not match its HMAC"), "\(recomputed.stdout)")
        // Without the key that cannot be seen; the command says what it could not check.
        let keyless = try Self.verify(scratch, journal: false)
        #expect(keyless.status == 0)
        #expect(keyless.stderr.contains("audit rows 1–5 are keyed (HMAC-SHA256) and no key was given: their links were checked, not their contents"), "\(keyless.stderr)")

        // Marking the recomputed rows plain does not help either: the key is in use from row 1.
        try Self.tamper(scratch, Self.recomputed(rows, editing: 1, reason: "routine", sealing: .plain))
        let unkeyed = try Self.verify(scratch, ["--key-file", keyFile], journal: false)
        #expect(unkeyed.status == 1)
        #expect(unkeyed.stdout.contains("audit row 1 is not keyed (plain SHA-256) though the key is in use from row 1"), "\(unkeyed.stdout)")

        // Only the key makes HMACs that fit: the same recompute with it passes, checked with
        // another key it does not.
        try Self.tamper(scratch, Self.recomputed(rows, editing: 1, reason: "routine", key: key, sealing: .keyed))
        #expect(try Self.verify(scratch, ["--key-file", keyFile], journal: false).status == 0)
        let other = keyDirectory.root + "/other.key"
        #expect(FileManager.default.createFile(atPath: other, contents: Data(repeating: 1, count: 32)))
        let otherKey = try Self.verify(scratch, ["--key-file", other], journal: false)
        #expect(otherKey.status == 1)
        #expect(otherKey.stdout.contains("audit row 1: its contents do not match its HMAC"), "\(otherKey.stdout)")
        // With the journal, the rows the key holder rewrote are still not the ones it sealed.
        let sealed = try Self.verify(scratch, ["--key-file", keyFile])
        #expect(sealed.status == 1)
        #expect(sealed.stdout.contains("audit row 1 is not the row the journal sealed at "), "\(sealed.stdout)")
    }
}
