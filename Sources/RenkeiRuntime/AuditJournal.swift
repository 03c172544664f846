import Foundation
import RenkeiCore

/// Reads the audit heads the journal holds for one store (`audit-appended` events and the
/// report's), by running `journalctl -o json` — no shell, the filter as arguments.
public enum AuditJournal {
    /// `directory`: a journal directory to read instead of the machine's (`journalctl -D`).
    public static func heads(store: String, directory: String? = nil, journalctl: String? = nil) -> JournalHeads {
        guard let program = journalctl ?? ["/usr/bin/journalctl", "/bin/journalctl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .unreadable("journalctl is not installed")
        }
        var arguments = ["-o", "json", "--all", "--no-pager", "--output-fields=\(EventField.auditSeq),\(EventField.auditHash),_UID"]
        if let directory { arguments += ["--directory=\(directory)"] }
        arguments += ["\(EventField.messageID)=\(EventKind.auditAppended.messageID)", "\(EventField.auditStore)=\(store)", "+",
                      "\(EventField.messageID)=\(EventKind.reportWritten.messageID)", "\(EventField.auditStore)=\(store)"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return .unreadable("cannot run \(program): \(error.localizedDescription)")
        }
        // Both pipes drained at once: journalctl blocks on a full one.
        let stderrData = ReadData()
        let stderrRead = DispatchSemaphore(value: 0)
        Thread {
            stderrData.data = errors.fileHandleForReading.readDataToEndOfFile()
            stderrRead.signal()
        }.start()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        stderrRead.wait()
        let stderr = String(decoding: stderrData.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let journalName = directory.map { "the journal in \($0)" } ?? "the journal"
        if stderr.contains("insufficient permissions") || stderr.contains("not seeing messages from other users") {
            return .unreadable("this user (uid \(getuid())) may not read renkeid's entries in \(journalName): run as root, or as a member of group systemd-journal or adm")
        }
        guard process.terminationStatus == 0 else {
            return .unreadable("journalctl could not read \(journalName) (exit status \(process.terminationStatus)): \(stderr)")
        }
        return .read(parse(stdout, trusting: writers(of: store)))
    }

    /// Who may append to the store, so whose journal entries are its heads: root, the store's
    /// owner (renkeid's user) and the members of its group (operators running `run --local`).
    /// `_UID` is set by journald, not by the sender: any other user can log an entry that looks
    /// like a head, and it is not taken for one.
    static func writers(of store: String) -> (UInt32) -> Bool {
        var status = stat()
        guard stat(store, &status) == 0 else { return { $0 == 0 } }
        let owner = status.st_uid, group = status.st_gid
        var members = Set<String>()
        if let entry = getgrgid(group), var member = entry.pointee.gr_mem {
            while let name = member.pointee {
                members.insert(String(cString: name))
                member = member.advanced(by: 1)
            }
        }
        return { uid in
            if uid == 0 || uid == owner { return true }
            guard let user = getpwuid(uid) else { return false }
            return user.pointee.pw_gid == group || members.contains(String(cString: user.pointee.pw_name))
        }
    }

    /// One head per entry that carries both fields and was sent by a user `trusting` accepts;
    /// other entries are left out.
    static func parse(_ data: Data, trusting: (UInt32) -> Bool = { _ in true }) -> [SealedHead] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line -> SealedHead? in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let seq = (entry[EventField.auditSeq] as? String).flatMap(Int64.init), let hash = entry[EventField.auditHash] as? String
            else { return nil }
            guard let uid = (entry["_UID"] as? String).flatMap(UInt32.init), trusting(uid) else { return nil }
            let micros = (entry["__REALTIME_TIMESTAMP"] as? String).flatMap(Int64.init) ?? 0
            let at = LogicalTime(epochSeconds: micros / 1_000_000, zoneIdentifier: MachineTimeZone.identifier).iso8601
            return SealedHead(head: AuditHead(seq: seq, hash: hash), at: at)
        }
    }
}

/// stderr's bytes, handed over by the thread that read them (the semaphore orders the access).
private final class ReadData: @unchecked Sendable {
    var data = Data()
}
