import Foundation
import Logging
import RenkeiRuntime
import RenkeiStore
import RenkeiSystemd

extension StateDirectory {
    /// The store, for a command that writes audit rows itself (`run --local`, `purge`): keyed as
    /// renkeid's are when `RENKEI_AUDIT_KEY_FILE` (or the credential) names the key, each row's
    /// head sent to the journal as renkeid sends its own.
    func openStoreForAuditedWriting() throws -> RunStore {
        let key = try AuditKey.load(environment: ProcessInfo.processInfo.environment)
        let logger = Logger(label: "renkeictl") { _ -> any LogHandler in
            if Journal.isAvailable { return JournalLogHandler(identifier: "renkeictl") }
            return SwiftLogNoOpLogHandler()
        }
        return try openStoreForWriting(auditKey: key, auditEvents: AuditEvents(logger: logger))
    }
}
