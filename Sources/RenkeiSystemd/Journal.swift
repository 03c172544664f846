internal import CSystemd
import Foundation

/// The systemd journal's native protocol (`sd_journal_sendv`): each entry is a list of
/// `NAME=value` fields; values may hold any bytes (newlines, invalid UTF-8), which libsystemd
/// sends in the binary-safe encoding.
public enum Journal {
    /// journald's socket; without it there is no journal to write to.
    public static let socketPath = "/run/systemd/journal/socket"

    public static var isAvailable: Bool {
        var status = stat()
        return stat(socketPath, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK
    }

    /// One field. Names are upper-case ASCII letters, digits and `_`, not starting with `_`.
    public struct Field: Sendable {
        public let name: String
        public let value: [UInt8]

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = Array(value.utf8)
        }

        public init(_ name: String, bytes: [UInt8]) {
            self.name = name
            self.value = bytes
        }

        /// `Job name` → `JOB_NAME`: what journald accepts as a field name.
        public static func sanitizedName(_ name: String) -> String {
            let upper = name.uppercased().map { character -> Character in
                character.isASCII && (character.isLetter || character.isNumber) ? character : "_"
            }
            var text = String(upper)
            while text.hasPrefix("_") { text.removeFirst() }
            if let first = text.first, first.isNumber { text = "F" + text }
            return text.isEmpty ? "FIELD" : String(text.prefix(64))
        }
    }

    /// Sends one entry; false when journald did not take it (no journal, buffer full). Never throws:
    /// a lost log line must not cost a run record.
    @discardableResult
    public static func send(_ fields: [Field]) -> Bool {
        // Every field in one buffer, so that each iovec points into memory lent by one closure
        // that spans the whole call: no pointer outlives what lent it.
        var bytes: [UInt8] = []
        var extents: [(start: Int, count: Int)] = []
        extents.reserveCapacity(fields.count)
        for field in fields {
            let start = bytes.count
            bytes += field.name.utf8
            bytes.append(UInt8(ascii: "="))
            bytes += field.value
            extents.append((start, bytes.count - start))
        }
        return bytes.withUnsafeMutableBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            let vectors = extents.map { extent in iovec(iov_base: base + extent.start, iov_len: extent.count) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) } >= 0
        }
    }

    /// syslog priority of a swift-log level.
    public static func priority(_ level: String) -> Int {
        switch level {
        case "trace", "debug": 7
        case "info": 6
        case "notice": 5
        case "warning": 4
        case "error": 3
        default: 2
        }
    }
}
