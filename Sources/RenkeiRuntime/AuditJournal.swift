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
        var arguments = ["-o", "json", "--all", "--no-pager", "--output-fields=\(EventField.auditSeq),\(EventField.auditHash)"]
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
        return .read(parse(stdout))
    }

    /// One head per entry that carries both fields; entries without them are left out.
    static func parse(_ data: Data) -> [SealedHead] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line -> SealedHead? in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let seq = (entry[EventField.auditSeq] as? String).flatMap(Int64.init), let hash = entry[EventField.auditHash] as? String
            else { return nil }
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
