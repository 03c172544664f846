import Foundation
import GRDB
import Testing
@testable import RenkeiStore

@Suite struct NotificationRecordTests {
    @Test func aDatabaseFromBeforeNotificationsGetsTheTableAndKeepsEachTry() async throws {
        try await Scratch.withDirectory { directory in
            let path = directory + "/renkei.db"
            do {
                let old = try DatabaseQueue(path: path)
                try Migrations.migrator.migrate(old, upTo: "v9: purged runs")
                #expect(try await old.read { db in try db.tableExists("notification") } == false)
                try old.close()
            }
            let store = try RunStore.openForWriting(at: path)
            let at = Date(timeIntervalSince1970: 1_796_083_200)
            try await store.recordNotification([
                RunStore.NotificationRow(runID: 412, job: "juki-to-fukushi", logicalDate: "2026-12-01", event: "failed", channel: "mail",
                                         recipients: "joho-ops@city.example", at: at, result: "failed", message: "/usr/sbin/sendmail exited 75", attempt: 1),
                RunStore.NotificationRow(runID: 413, job: "juki-to-fukushi", logicalDate: "2026-12-02", event: "failed", channel: "command",
                                         recipients: "/usr/local/libexec/page-ops", at: at, result: "ok", message: nil, attempt: 1),
            ])
            try await store.recordNotification([
                RunStore.NotificationRow(runID: 412, job: "juki-to-fukushi", logicalDate: "2026-12-01", event: "failed", channel: "mail",
                                         recipients: "joho-ops@city.example", at: at.addingTimeInterval(60), result: "ok", message: nil, attempt: 2),
            ])
            let rows = try store.notifications(runID: 412)
            #expect(rows.map(\.attempt) == [1, 2])
            #expect(rows.map(\.result) == ["failed", "ok"])
            #expect(rows.first?.message == "/usr/sbin/sendmail exited 75")
            #expect(rows.last?.at == at.addingTimeInterval(60))
        }
    }
}
