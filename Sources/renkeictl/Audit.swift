import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import RenkeiStore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List who asked renkeid for what, or check that the audit log was not altered.",
        discussion: """
            Reads the store directly (works with renkeid stopped). Each row's SHA-256 (or HMAC-SHA256 \
            under the audit key) covers the row and the previous row's hash, and each row's id and \
            hash (the head) went to the journal as it was written. --verify checks the chain, that \
            no id is missing up to the number of rows SQLite counted (sqlite_sequence), and that \
            the table agrees with every head the journal holds: rows edited, deleted (also the \
            newest ones), a wiped table, a recomputed chain and a forged row are named, exit 1. \
            What cannot be checked (no journal access, no key) is said on stderr. See docs/audit.md.

            With a PostgreSQL store (--store or RENKEI_STORE), the rows are read from the \
            database; --verify checks the chain, ids 1…N and that audit_head is the last row, \
            not the journal (renkeid sends no heads of a PostgreSQL store there yet).

            Examples:
              renkeictl audit --since 2026-11-01
              sudo renkeictl audit --verify
              sudo renkeictl audit --verify --key-file /etc/renkei/audit.key
              renkeictl audit --verify --store "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    @OptionGroup var location: LocationOptions

    @Option(name: .long, help: ArgumentHelp("A PostgreSQL store: read the audit rows from the database (default: $RENKEI_STORE when it names PostgreSQL).", valueName: "URL"))
    var store: String?

    @Option(help: ArgumentHelp("Only rows from T on.", valueName: "T"))
    var since: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Check the hash chain, the row count and the heads in the journal.")
    var verify = false

    @Option(help: ArgumentHelp("With --verify: read the journal files in DIR (journalctl -D), not the machine's journal.", valueName: "DIR"))
    var journalDirectory: String?

    @Flag(help: "With --verify: do not read the journal (the chain and the row count only).")
    var noJournal = false

    @Option(help: ArgumentHelp("With --verify: the audit key (default: the renkei-audit-key credential, else $RENKEI_AUDIT_KEY_FILE).", valueName: "FILE"))
    var keyFile: String?

    @Option(help: ArgumentHelp("With --verify and a key: the first row written with the key (rows before it predate it).", valueName: "ID"))
    var keyedFrom: Int64 = 1

    func validate() throws {
        if !verify && (journalDirectory != nil || noJournal || keyFile != nil) {
            throw ValidationError("--journal-directory, --no-journal and --key-file go with --verify")
        }
        if journalDirectory != nil && noJournal { throw ValidationError("--journal-directory and --no-journal do not go together") }
    }

    func run() async throws {
        if let address = try PostgresStoreChoice.address(store: store, command: "audit") {
            do {
                if verify { return try await verifyLog(address) }
                let sinceDate = try sinceDate()
                let rows = try await PostgresSession.with(address, applicationName: "renkeictl audit") { session in
                    try await PostgresAudit.rows(session, since: sinceDate)
                }
                return try show(rows)
            } catch let problem as PostgresProblem {
                throw PostgresStoreChoice.failure(problem, command: "audit", address: address)
            }
        }
        if verify { return try verifyLog() }
        let store = try openForReading(location.locations)
        try show(try store.audit(since: try sinceDate()))
    }

    /// `--since` as an instant on this machine's clock; nil without it.
    func sinceDate() throws -> Date? {
        guard let since else { return nil }
        do {
            return Date(timeIntervalSince1970: TimeInterval(try LogicalTime.parse(since, zoneIdentifier: MachineTimeZone.identifier).epochSeconds))
        } catch { throw Failure(.usage, "--since: \(error)") }
    }

    /// The same table or JSON whichever store the rows came from.
    func show(_ rows: [AuditRecord]) throws {
        if json {
            struct Row: Encodable { let id: Int64; let at: String?; let uid: Int64; let user: String; let pid: Int64; let request: String; let reason: String?; let result: String; let run_id: Int64?; let hash: String }
            print(try JSONOutput.encode(rows.map { Row(id: $0.id!, at: RunSummary.isoTime($0.at), uid: $0.uid, user: $0.user, pid: $0.pid, request: $0.request,
                                                       reason: $0.reason, result: $0.result, run_id: $0.runId, hash: $0.hash) }))
            return
        }
        if rows.isEmpty {
            print("no requests recorded")
            return
        }
        var table = [["#", "TIME", "USER", "REQUEST", "RESULT", "RUN", "REASON"]]
        for row in rows {
            let operation = (try? JSONSerialization.jsonObject(with: Data(row.request.utf8)) as? [String: Any]).flatMap { $0["operation"] as? String } ?? "?"
            table.append([String(row.id!), RunSummary.localTime(row.at), "\(row.user) (uid \(row.uid))", operation, row.result,
                          row.runId.map(String.init) ?? "-", row.reason ?? ""])
        }
        print(Table.render(table))
    }

    /// The journal is read before the table: a row written in between is then newer than the
    /// journal's head (and named as such), never taken for a deleted one.
    func verifyLog() throws {
        let key = try auditKey()
        let database = StateDirectory(location.locations.state).database
        let journal = noJournal ? JournalHeads.unreadable("--no-journal was given") : AuditJournal.heads(store: database, directory: journalDirectory)
        let store = try openForReading(location.locations)
        let findings = AuditVerification.verify(try store.audit().map(\.link), sequence: try store.auditRowsWritten(), journal: journal, key: key, keyedFrom: keyedFrom)
        try report(findings, store: database,
                   keep: "copy \(database) and keep the journal (journalctl --verify) before anything writes to them, then find who had write access")
    }

    /// `--verify` on PostgreSQL: the chain, ids 1…N and `audit_head` against the last row, in one
    /// snapshot (`PostgresAudit.verify`). The journal is not read: renkeid sends no heads of a
    /// PostgreSQL store to it yet, so there is nothing there to compare with.
    func verifyLog(_ address: PostgresAddress) async throws {
        if journalDirectory != nil {
            throw Failure(.usage, "audit: --journal-directory: the journal holds no audit heads of a PostgreSQL store yet (renkeid sends them only for a SQLite store); run without it")
        }
        let key = try auditKey()
        let journal = JournalHeads.unreadable(noJournal ? "--no-journal was given"
            : "the journal heads are not checked on PostgreSQL yet (renkeid sends no heads of a PostgreSQL store there); audit_head was checked against the table instead")
        let findings = try await PostgresSession.with(address, applicationName: "renkeictl audit --verify") { session in
            try await PostgresAudit.verify(session, key: key, keyedFrom: keyedFrom, journal: journal)
        }
        try report(findings, store: address.description,
                   keep: "keep a copy now (pg_dump -Fc \(address.database), as a superuser, to a file no Renkei role can write) before anything writes to the database, then find who could change the rows: the roles that own Renkei's tables or are superusers (psql -c '\\du'), and the server's log")
    }

    func auditKey() throws -> [UInt8]? {
        do {
            return try keyFile.map { try AuditKey.read($0, how: "--key-file") } ?? AuditKey.load(environment: ProcessInfo.processInfo.environment)
        } catch { throw Failure(.usage, "\(error)") }
    }

    /// Notes to stderr; the findings to stdout and exit 1 when the log was altered, with what
    /// to keep (`keep`) before anything else writes.
    func report(_ findings: AuditFindings, store: String, keep: String) throws {
        for note in findings.notes {
            FileHandle.standardError.write(Data("renkeictl: note: \(note)\n".utf8))
        }
        guard findings.isIntact else {
            print("the audit log of \(store) was altered:")
            for finding in findings.altered { print("  - \(finding)") }
            throw Failure(.runDidNotSucceed, "the audit log was altered (\(findings.altered.count) finding(s) above): \(keep)")
        }
        print("audit log intact: \(findings.rows) rows, hash chain verified")
        if findings.sealedHeads > 0, let head = findings.head {
            print("  head: row \(head.seq), hash \(head.hash.prefix(16))…; the journal's \(findings.sealedHeads) head(s) for this store match the table")
        }
    }
}
