/// One audit row as the verification sees it: where it sits in the chain and what its hash covers.
public struct AuditLink: Sendable, Equatable {
    public var id: Int64
    public var previousHash: String
    public var hash: String
    /// What the hash covers (`AuditRecord.hashedFields`).
    public var fields: [String]
    public var sealing: AuditSealing

    public init(id: Int64, previousHash: String, hash: String, fields: [String], sealing: AuditSealing) {
        self.id = id
        self.previousHash = previousHash
        self.hash = hash
        self.fields = fields
        self.sealing = sealing
    }
}

/// A head the journal holds: sent as its row was appended (`audit-appended`, or the daily report).
public struct SealedHead: Sendable, Equatable {
    public var head: AuditHead
    /// When the journal received it, as the operator reads it.
    public var at: String

    public init(head: AuditHead, at: String) {
        self.head = head
        self.at = at
    }
}

/// What the journal had to say about a store's audit chain.
public enum JournalHeads: Sendable, Equatable {
    case read([SealedHead])
    /// Why the journal could not be asked (not permitted, no journalctl, `--no-journal`).
    case unreadable(String)
}

/// What `renkeictl audit --verify` found: each `altered` line is a change someone made (exit 1);
/// each `note` says what could not be checked and why.
public struct AuditFindings: Sendable, Equatable {
    public var altered: [String] = []
    public var notes: [String] = []
    /// The table's newest row, if it has any.
    public var head: AuditHead?
    public var rows = 0
    /// How many of the table's heads the journal confirmed.
    public var sealedHeads = 0

    public var isIntact: Bool { altered.isEmpty }
}

/// Checks an audit table three ways: the hash chain itself (edits, rows removed in the middle),
/// the ids against SQLite's counter of rows ever written (`sqlite_sequence`: the newest rows
/// removed, the table wiped), and the table against the heads the journal received as each row
/// was written (a chain recomputed after an edit, a forged row appended, and the above even when
/// `sqlite_sequence` was edited too). With the key, a keyed chain cannot be recomputed at all.
public enum AuditVerification {
    /// `sequence`: what `sqlite_sequence` holds for the audit table (0 if nothing). `keyedFrom`:
    /// with a key, the first row that must be keyed (rows before it predate the key).
    public static func verify(_ links: [AuditLink], sequence: Int64, journal: JournalHeads, key: [UInt8]?, keyedFrom: Int64 = 1) -> AuditFindings {
        var findings = AuditFindings()
        findings.rows = links.count
        findings.head = links.last.map { AuditHead(seq: $0.id, hash: $0.hash) }
        checkChain(links, key: key, keyedFrom: keyedFrom, into: &findings)
        let last = links.last?.id ?? 0
        if sequence > last {
            findings.altered.append(links.isEmpty
                ? "the audit table is empty, but SQLite counted \(sequence) row(s) written to it (sqlite_sequence): the table was wiped"
                : "\(newest(last + 1, sequence)) deleted: SQLite counted \(sequence) row(s) written (sqlite_sequence), the table ends at row \(last)")
        } else if sequence < last {
            findings.altered.append("SQLite's counter of audit rows (sqlite_sequence, \(sequence)) is below the newest row (\(last)): the counter or the rows were edited")
        }
        checkJournal(links, journal, into: &findings)
        return findings
    }

    /// "the newest row (5) was", "the newest 2 rows (4–5) were".
    static func newest(_ first: Int64, _ last: Int64) -> String {
        first == last ? "the newest row (\(last)) was" : "the newest \(last - first + 1) rows (\(first)–\(last)) were"
    }

    static func checkChain(_ links: [AuditLink], key: [UInt8]?, keyedFrom: Int64, into findings: inout AuditFindings) {
        var previous = AuditChain.genesis
        var expected: Int64 = 1
        var unchecked: [Int64] = []
        for link in links {
            if link.id != expected {
                let missing = link.id - 1 == expected ? "row \(expected) is" : "rows \(expected)–\(link.id - 1) are"
                findings.altered.append("audit \(missing) missing (the row before is \(expected - 1), the next is \(link.id)): deleted")
                return
            }
            if link.previousHash != previous {
                findings.altered.append("audit row \(link.id): its previous hash is not row \(link.id - 1)'s hash: a row before it was changed, removed or put in")
                return
            }
            switch link.sealing {
            case .keyed:
                if let key {
                    if AuditChain.hash(previous: previous, fields: link.fields, key: key) != link.hash {
                        findings.altered.append("audit row \(link.id): its contents do not match its HMAC: the row was edited, or its hash was made without the key (or with another key)")
                        return
                    }
                } else {
                    unchecked.append(link.id)
                }
            case .plain:
                if AuditChain.hash(previous: previous, fields: link.fields) != link.hash {
                    findings.altered.append("audit row \(link.id): its contents do not match its hash: the row was edited")
                    return
                }
                if key != nil && link.id >= keyedFrom {
                    findings.altered.append("audit row \(link.id) is not keyed (plain SHA-256) though the key is in use from row \(keyedFrom): the chain was recomputed without the key from here, or a renkeictl without the key wrote the row (give it RENKEI_AUDIT_KEY_FILE); if the key was turned on later, say where with --keyed-from")
                    return
                }
            }
            previous = link.hash
            expected += 1
        }
        if let first = unchecked.first, let last = unchecked.last {
            findings.notes.append("audit rows \(first)–\(last) are keyed (HMAC-SHA256) and no key was given: their links were checked, not their contents; without the key only the journal's heads can tell a recomputed chain (give --key-file)")
        }
    }

    static func checkJournal(_ links: [AuditLink], _ journal: JournalHeads, into findings: inout AuditFindings) {
        let heads: [SealedHead]
        switch journal {
        case .unreadable(let reason):
            findings.notes.append("the journal was not checked: \(reason). Without it, the newest rows deleted together with sqlite_sequence, or a chain recomputed after an edit, cannot be found")
            return
        case .read(let read):
            heads = read.sorted { $0.head.seq < $1.head.seq }
        }
        guard let newest = heads.last else {
            findings.notes.append("the journal holds no audit head for this store (journald kept none, they were rotated away, or this user may not read renkeid's entries: run as root or in group systemd-journal). Without one, the newest rows deleted together with sqlite_sequence, or a chain recomputed after an edit, cannot be found")
            return
        }
        let last = links.last?.id ?? 0
        let when = "the journal sealed row \(newest.head.seq) (hash \(newest.head.hash.prefix(16))…) at \(newest.at)"
        if newest.head.seq > last {
            findings.altered.append(links.isEmpty
                ? "the audit table was wiped: \(when), the table has no rows"
                : "\(Self.newest(last + 1, newest.head.seq)) deleted: \(when), the table ends at row \(last)")
        }
        let table = Dictionary(links.map { ($0.id, $0.hash) }, uniquingKeysWith: { first, _ in first })
        for sealed in heads where sealed.head.seq <= last {
            guard let hash = table[sealed.head.seq] else { continue }
            if hash != sealed.head.hash {
                findings.altered.append("audit row \(sealed.head.seq) is not the row the journal sealed at \(sealed.at) (journal hash \(sealed.head.hash.prefix(16))…, table hash \(hash.prefix(16))…): rows were edited or replaced and the chain recomputed from row \(sealed.head.seq) or before")
                break
            }
            findings.sealedHeads += 1
        }
        if last > newest.head.seq {
            let rows = last == newest.head.seq + 1 ? "audit row \(last) is" : "audit rows \(newest.head.seq + 1)–\(last) are"
            findings.altered.append("\(rows) in no journal entry (\(when)): appended by something that did not send its head — a forged row — or the event was lost (journald rate limit); if a request is being recorded right now, run again")
        }
        let sealed = Set(heads.map(\.head.seq))
        let oldest = heads.first!.head.seq
        let lost = links.map(\.id).filter { $0 > oldest && $0 < newest.head.seq && !sealed.contains($0) }
        if let first = lost.first {
            findings.notes.append("\(lost.count) row(s) between the journal's oldest and newest head have no journal entry of their own (first: row \(first)): their events were lost; the later heads seal them as they stand")
        }
    }
}
