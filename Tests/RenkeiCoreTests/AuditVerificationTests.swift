import Testing
@testable import RenkeiCore

/// The rules of `renkeictl audit --verify`, on chains built here: no store, no journal.
@Suite struct AuditVerificationTests {
    /// `count` rows chained as the store chains them (keyed with `key`).
    func chain(_ count: Int, key: [UInt8]? = nil) -> [AuditLink] {
        var links: [AuditLink] = []
        var previous = AuditChain.genesis
        for id in 1...Int64(count) {
            let fields = ["\(id)", "0", "root", "1", #"{"operation":"run"}"#, "", "accepted", ""]
            let hash = AuditChain.hash(previous: previous, fields: fields, key: key)
            links.append(AuditLink(id: id, previousHash: previous, hash: hash, fields: fields, sealing: key == nil ? .plain : .keyed))
            previous = hash
        }
        return links
    }

    func sealed(_ links: [AuditLink], _ ids: [Int64]) -> JournalHeads {
        .read(ids.map { id in SealedHead(head: AuditHead(seq: id, hash: links[Int(id) - 1].hash), at: "2026-12-01T06:3\(id):00+09:00") })
    }

    @Test func anIntactChainSealedByTheJournalPasses() {
        let links = chain(4)
        let findings = AuditVerification.verify(links, sequence: 4, journal: sealed(links, [1, 2, 3, 4]), key: nil)
        #expect(findings.isIntact)
        #expect(findings.notes.isEmpty)
        #expect(findings.sealedHeads == 4)
        #expect(findings.head == AuditHead(seq: 4, hash: links[3].hash))
    }

    @Test func oneDeletedNewestRowIsNamedInTheSingular() {
        let links = chain(4)
        let findings = AuditVerification.verify(Array(links.prefix(3)), sequence: 4, journal: sealed(links, [4]), key: nil)
        #expect(findings.altered == [
            "the newest row (4) was deleted: SQLite counted 4 row(s) written (sqlite_sequence), the table ends at row 3",
            "the newest row (4) was deleted: the journal sealed row 4 (hash \(links[3].hash.prefix(16))…) at 2026-12-01T06:34:00+09:00, the table ends at row 3",
        ])
    }

    @Test func aCounterBelowTheNewestRowIsNamed() {
        let links = chain(3)
        let findings = AuditVerification.verify(links, sequence: 2, journal: .unreadable("--no-journal was given"), key: nil)
        #expect(findings.altered == ["SQLite's counter of audit rows (sqlite_sequence, 2) is below the newest row (3): the counter or the rows were edited"])
    }

    @Test func rowsWhoseEventsWereLostBetweenSealedHeadsAreANoteNotAnAlteration() {
        let links = chain(5)
        let findings = AuditVerification.verify(links, sequence: 5, journal: sealed(links, [1, 5]), key: nil)
        #expect(findings.isIntact)
        #expect(findings.notes == ["3 row(s) between the journal's oldest and newest head have no journal entry of their own (first: row 2): their events were lost; the later heads seal them as they stand"])
    }

    @Test func anEmptyJournalOrNoneIsSaidNotHidden() {
        let links = chain(2)
        let empty = AuditVerification.verify(links, sequence: 2, journal: .read([]), key: nil)
        #expect(empty.isIntact)
        #expect(empty.notes.first?.hasPrefix("the journal holds no audit head for this store") == true)
        let unreadable = AuditVerification.verify(links, sequence: 2, journal: .unreadable("this user (uid 1000) may not read renkeid's entries"), key: nil)
        #expect(unreadable.notes.first?.hasPrefix("the journal was not checked: this user (uid 1000) may not read renkeid's entries.") == true)
    }

    @Test func rowsBeforeTheKeyWasTurnedOnPassWithKeyedFrom() {
        let key = [UInt8](repeating: 9, count: 32)
        var links = chain(2)
        // Row 3 keyed after two plain ones.
        let fields = ["3", "0", "root", "1", "{}", "", "accepted", ""]
        links.append(AuditLink(id: 3, previousHash: links[1].hash, hash: AuditChain.hash(previous: links[1].hash, fields: fields, key: key), fields: fields, sealing: .keyed))
        #expect(AuditVerification.verify(links, sequence: 3, journal: .read([]), key: key, keyedFrom: 3).isIntact)
        #expect(AuditVerification.verify(links, sequence: 3, journal: .read([]), key: key).altered.first?.hasPrefix("audit row 1 is not keyed") == true)
        let keyless = AuditVerification.verify(links, sequence: 3, journal: .read([]), key: nil)
        #expect(keyless.isIntact)
        #expect(keyless.notes.contains { $0.hasPrefix("audit rows 3–3 are keyed (HMAC-SHA256) and no key was given") })
    }

    @Test func theHMACDiffersFromThePlainHashAndDependsOnTheKey() {
        let fields = ["a", "b"]
        let plain = AuditChain.hash(previous: AuditChain.genesis, fields: fields)
        let keyed = AuditChain.hash(previous: AuditChain.genesis, fields: fields, key: [UInt8](repeating: 1, count: 32))
        let other = AuditChain.hash(previous: AuditChain.genesis, fields: fields, key: [UInt8](repeating: 2, count: 32))
        #expect(Set([plain, keyed, other]).count == 3)
        #expect(keyed.count == 64)
    }
}
