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
        var buffers: [[UInt8]] = fields.map { Array($0.name.utf8) + [UInt8(ascii: "=")] + $0.value }
        let count = buffers.count
        return buffers.withUnsafeMutableBufferPointer { all -> Bool in
            var vectors: [iovec] = []
            vectors.reserveCapacity(count)
            for index in 0..<count {
                all[index].withUnsafeMutableBytes { raw in
                    vectors.append(iovec(iov_base: raw.baseAddress, iov_len: raw.count))
                }
            }
            // The buffers stay alive for the call: they are owned by `buffers`, which outlives it.
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32(count)) } >= 0
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
