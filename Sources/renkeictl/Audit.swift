import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List who asked renkeid for what, or check that the audit log was not altered.",
        discussion: """
            Reads the store directly (works with renkeid stopped). Each row's SHA-256 covers the row \
            and the previous row's hash; --verify walks the chain and exits 1 naming the first row \
            that does not fit.

            Examples:
              renkeictl audit --since 2026-11-01
              renkeictl audit --verify
            """
    )

    @OptionGroup var location: LocationOptions

    @Option(help: ArgumentHelp("Only rows from T on.", valueName: "T"))
    var since: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Check the hash chain.")
    var verify = false

    func run() throws {
        let store = try openForReading(location.locations)
        if verify {
            if let broken = try store.verifyAudit() {
                throw Failure(.runDidNotSucceed, "the audit log was altered: \(broken)")
            }
            print("audit log intact: \(try store.audit().count) rows, hash chain verified")
            return
        }
        var sinceDate: Date?
        if let since {
            do {
                sinceDate = Date(timeIntervalSince1970: TimeInterval(try LogicalTime.parse(since, zoneIdentifier: MachineTimeZone.identifier).epochSeconds))
            } catch { throw Failure(.usage, "--since: \(error)") }
        }
        let rows = try store.audit(since: sinceDate)
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
}
