import Foundation
import Logging
import RenkeiCore
import RenkeiStore

/// The journal's copy of the audit chain's head: one `audit-appended` event per audit row, sent
/// once the row is committed. `renkeictl audit --verify` compares the table with them.
public struct AuditEvents: Sendable {
    public let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The seal a writing store uses: `key` for the chain, this for the journal.
    public func seal(key: [UInt8]?, store: String) -> AuditSeal {
        AuditSeal(key: key) { row in appended(row, store: store) }
    }

    public func appended(_ row: AuditRecord, store: String) {
        var fields = [
            EventField.auditSeq: String(row.id ?? 0), EventField.auditHash: row.hash, EventField.auditStore: store,
            EventField.auditSealing: (row.sealing ?? .plain).rawValue, EventField.requestedBy: row.user,
        ]
        if let run = row.runId { fields[EventField.runID] = String(run) }
        let operation = (try? JSONSerialization.jsonObject(with: Data(row.request.utf8)) as? [String: Any]).flatMap { $0["operation"] as? String } ?? "request"
        if let job = (try? JSONSerialization.jsonObject(with: Data(row.request.utf8)) as? [String: Any]).flatMap({ $0["job"] as? String }) {
            fields[EventField.job] = job
        }
        let run = row.runId.map { ", run \($0)" } ?? ""
        logger.event(.auditAppended, .info,
                     "audit row \(row.id ?? 0): \(SafeText.visible(operation)) by \(SafeText.visible(row.user)) (uid \(row.uid)): \(SafeText.visible(row.result))\(run); head hash \(row.hash.prefix(16))…",
                     fields)
    }
}

/// The key that makes the audit chain an HMAC-SHA256 chain nobody can recompute without it:
/// the systemd credential `renkei-audit-key` (`LoadCredential=renkei-audit-key:/etc/renkei/audit.key`
/// in renkeid's unit), or for renkeictl's own rows (`run --local`, `purge`) the file named by
/// `RENKEI_AUDIT_KEY_FILE`.
public enum AuditKey {
    public static let credential = "renkei-audit-key"
    public static let fileVariable = "RENKEI_AUDIT_KEY_FILE"
    /// Shorter keys are refused: an HMAC is as strong as its key.
    public static let minimumBytes = 16

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The key, nil when none is configured. Throws when one is configured but cannot be used:
    /// silently writing a plain chain would read as a broken one at the next verify.
    public static func load(environment: [String: String]) throws -> [UInt8]? {
        if let directory = environment[SystemdCredentials.directoryVariable], !directory.isEmpty,
           FileManager.default.fileExists(atPath: directory + "/" + credential) {
            return try read(directory + "/" + credential, how: "the \(credential) credential")
        }
        if let path = environment[fileVariable], !path.isEmpty {
            return try read(path, how: "$\(fileVariable)")
        }
        return nil
    }

    public static func read(_ path: String, how: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "it cannot be read by this user (uid \(getuid()))" : "it does not exist"
            throw Problem(description: "the audit key \(path) (\(how)): \(reason); run as root, or fix the path")
        }
        guard data.count >= minimumBytes else {
            throw Problem(description: "the audit key \(path) (\(how)) has \(data.count) bytes, fewer than \(minimumBytes): make one with `head -c 32 /dev/urandom > \(path)`")
        }
        return Array(data)
    }
}
