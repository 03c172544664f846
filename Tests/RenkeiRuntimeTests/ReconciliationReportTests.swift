import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// The reconciliation table (連携結果照合表) of the failure report, from a store whose runs
/// recorded their files as built-in steps record them (`stepFinished` with `StepEnd.files`).
@Suite(.serialized) struct ReconciliationReportTests {
    static let day = ReportTests.day
    static let base = ReportTests.base

    static func date(_ day: Int64) -> String { LogicalTime(epochSeconds: base + day * Self.day, zoneIdentifier: "UTC").date }

    /// juki (receive, deliver, notify): day 1 received 100 bytes and delivered 120 (and refused
    /// another delivery); day 2 failed before delivering; day 3 delivered, failed at notify, and a
    /// rerun from the top received the same file again (into its own work directory) and found it
    /// already delivered; day 4 counted 100 records in and 98 out; day 5 delivered and then failed;
    /// day 40 is outside the period. kokuho only receives: two files on day 1, one of them counted,
    /// and a duplicate it refused.
    static func fill(_ scratch: Scratch) throws -> [String: Int64] {
        let store = try StateDirectory(scratch.state).openStoreForWriting()
        func job(_ name: String) -> Job {
            Job(name: JobName(name)!, steps: ["receive", "deliver", "notify"].map { Step(name: $0, command: .argv(["/bin/true"])) }, definitionHash: "h")
        }
        func at(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
        var ids: [String: Int64] = [:]
        func run(_ key: String, _ name: String, day: Int64, trigger: Trigger = .schedule, outcome: RunOutcome = .succeeded, of: Int64? = nil,
                 files: [Int: [LinkFile]]) throws {
            let logical = LogicalTime(epochSeconds: base + day * Self.day + 6 * 3600 + 1800, zoneIdentifier: "UTC")
            let start = logical.epochSeconds + (trigger == .schedule ? 0 : 3600)
            let queued = try store.enqueue(NewRun(job: job(name), logicalTime: logical, trigger: trigger, requestedByUser: of == nil ? nil : "tanaka",
                                                  reason: of == nil ? nil : "ticket 9", rerunOf: of), owner: .current, at: at(start))
            let id = queued.id!
            _ = try store.start(runID: id, environment: [:], workDirectory: "/w/\(key)", at: at(start))
            for (position, recorded) in files.sorted(by: { $0.key < $1.key }) {
                try store.stepFinished(runID: id, position: position, end: StepEnd(termination: .exited(0), finishedAt: at(start + 10), stdoutTail: OutputTail(),
                                                                                   stderrTail: OutputTail(), files: recorded))
            }
            try store.finish(runID: id, outcome: outcome, at: at(start + 60))
            ids[key] = id
        }
        func received(_ name: String, into key: String, bytes: Int64, sha: String, records: Int64? = nil, outcome: LinkFile.Outcome = .received) -> LinkFile {
            LinkFile(direction: .received, path: "/w/\(key)/\(name)", source: "/srv/outbox/\(name)", bytes: bytes, sha256: sha, records: records, outcome: outcome)
        }
        func delivered(_ name: String, from key: String, bytes: Int64, sha: String, records: Int64? = nil, outcome: LinkFile.Outcome = .delivered) -> LinkFile {
            LinkFile(direction: .delivered, path: "/srv/inbox/\(name)", source: "/w/\(key)/\(name)", bytes: bytes, sha256: sha, records: records, outcome: outcome)
        }
        let notifyFailed = RunOutcome(state: .failed, errorClass: .exit, message: "step notify: exit status 1", failedStep: "notify", exitStatus: 1)
        let deliverFailed = RunOutcome(state: .failed, errorClass: .exit, message: "step deliver: exit status 2", failedStep: "deliver", exitStatus: 2)

        try run("A", "juki", day: 1, files: [0: [received("IDO_1.csv", into: "A", bytes: 100, sha: "a1")],
                                             1: [delivered("FUKUSHI_1.csv", from: "A", bytes: 120, sha: "b1"),
                                                 delivered("FUKUSHI_1.csv", from: "A", bytes: 999, sha: "bx", outcome: .refused)]])
        try run("K", "kokuho", day: 1, files: [0: [received("KOKUHO_a.csv", into: "K", bytes: 10, sha: "k1", records: 3),
                                                   received("KOKUHO_b.csv", into: "K", bytes: 20, sha: "k2"),
                                                   received("KOKUHO_old.csv", into: "K", bytes: 999, sha: "kx", outcome: .duplicate)]])
        try run("B", "juki", day: 2, outcome: deliverFailed, files: [0: [received("IDO_2.csv", into: "B", bytes: 200, sha: "a2")]])
        try run("C", "juki", day: 3, outcome: notifyFailed, files: [0: [received("IDO_3.csv", into: "C", bytes: 300, sha: "a3", records: 10)],
                                                                    1: [delivered("FUKUSHI_3.csv", from: "C", bytes: 320, sha: "b3", records: 10)]])
        try run("D", "juki", day: 3, trigger: .rerun, of: ids["C"], files: [
            0: [received("IDO_3.csv", into: "D", bytes: 300, sha: "a3", records: 10)],
            1: [delivered("FUKUSHI_3.csv", from: "D", bytes: 320, sha: "b3", records: 10, outcome: .alreadyDelivered)]])
        try run("E", "juki", day: 4, files: [0: [received("IDO_4.csv", into: "E", bytes: 400, sha: "a4", records: 100)],
                                             1: [delivered("FUKUSHI_4.csv", from: "E", bytes: 380, sha: "b4", records: 98)]])
        try run("F", "juki", day: 5, outcome: notifyFailed, files: [0: [received("IDO_5.csv", into: "F", bytes: 500, sha: "a5")],
                                                                    1: [delivered("FUKUSHI_5.csv", from: "F", bytes: 520, sha: "b5")]])
        try run("G", "juki", day: 40, files: [0: [received("IDO_40.csv", into: "G", bytes: 4000, sha: "a40")],
                                              1: [delivered("FUKUSHI_40.csv", from: "G", bytes: 4200, sha: "b40")]])
        return ids
    }

    /// job, date, files/bytes/records received, files/bytes/records delivered, status.
    typealias Expected = (String, String, Int, Int64, Int64?, Int, Int64, Int64?, String)
    static let expected: [Expected] = [
        ("juki", date(1), 1, 100, nil, 1, 120, nil, "reconciled"),
        ("kokuho", date(1), 2, 30, nil, 0, 0, nil, "received_only"),
        ("juki", date(2), 1, 200, nil, 0, 0, nil, "not_delivered"),
        ("juki", date(3), 1, 300, 10, 1, 320, 10, "reconciled"),
        ("juki", date(4), 1, 400, 100, 1, 380, 98, "records_differ"),
        ("juki", date(5), 1, 500, nil, 1, 520, nil, "unfinished"),
    ]

    @Test func jsonHasOneRowPerJobAndDateWithTheKnownNumbers() throws {
        let scratch = try Scratch()
        _ = try Self.fill(scratch)
        let result = try ReportTests.report(scratch, ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["schema_version"] as? Int == 1)
        let rows = try #require(json["reconciliation"] as? [[String: Any]])
        #expect(rows.count == Self.expected.count)
        for (row, expected) in zip(rows, Self.expected) {
            // Every documented key, always there; unknown records are null, not missing.
            #expect(Set(row.keys) == ["job", "logical_date", "files_received", "bytes_received", "records_received", "files_delivered", "bytes_delivered",
                                      "records_delivered", "status", "reason"])
            #expect(row["job"] as? String == expected.0)
            #expect(row["logical_date"] as? String == expected.1)
            #expect(row["files_received"] as? Int == expected.2, "\(expected.0) \(expected.1)")
            #expect(row["bytes_received"] as? Int64 == expected.3, "\(expected.0) \(expected.1)")
            #expect(row["records_received"] as? Int64 == expected.4 || (expected.4 == nil && row["records_received"] is NSNull))
            #expect(row["files_delivered"] as? Int == expected.5, "\(expected.0) \(expected.1)")
            #expect(row["bytes_delivered"] as? Int64 == expected.6, "\(expected.0) \(expected.1)")
            #expect(row["records_delivered"] as? Int64 == expected.7 || (expected.7 == nil && row["records_delivered"] is NSNull))
            #expect(row["status"] as? String == expected.8, "\(expected.0) \(expected.1)")
            #expect(!(row["reason"] as? String ?? "").isEmpty)
        }
        #expect(rows[4]["reason"] as? String == "100 records received, 98 delivered")
        #expect(!result.stdout.contains("999"), "refused and duplicate files are not counted")
        #expect(!result.stdout.contains(Self.date(40)), "a file of a run outside the period is not counted")

        let kokuho = try ReportTests.report(scratch, ["--format", "json", "--job", "kokuho"])
        let only = try #require(try JSONSerialization.jsonObject(with: Data(kokuho.stdout.utf8)) as? [String: Any])
        #expect((only["reconciliation"] as? [[String: Any]])?.map { $0["job"] as? String } == ["kokuho"])
    }
}
