#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which stream a line came from.
public enum OutputStream: String, Sendable {
    case stdout
    case stderr
}

/// Cuts a byte stream into lines as they come. A line longer than `maximumLength` is passed on in
/// pieces, so one endless line cannot grow memory without bound. Bytes are kept as they are:
/// output need not be UTF-8 (CP932 from an old export, say).
public struct OutputLines: Sendable {
    /// Longest piece handed on at once.
    public let maximumLength: Int
    /// The unfinished line so far.
    private var pending: [UInt8] = []

    public static let defaultMaximumLength = 16 * 1024

    public init(maximumLength: Int = OutputLines.defaultMaximumLength) {
        precondition(maximumLength > 0)
        self.maximumLength = maximumLength
    }

    /// Feeds `bytes`, calling `line` for each complete line (without its `\n`).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, line: ([UInt8]) -> Void) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var offset = 0
        while offset < bytes.count {
            let room = min(maximumLength - pending.count, bytes.count - offset)
            let window = UnsafeBufferPointer(start: base + offset, count: room)
            if let found = memchr(base + offset, 0x0A, room) {
                let length = UnsafeRawPointer(found) - UnsafeRawPointer(base + offset)
                pending.append(contentsOf: UnsafeBufferPointer(start: base + offset, count: length))
                line(pending)
                pending.removeAll(keepingCapacity: true)
                offset += length + 1
            } else {
                pending.append(contentsOf: window)
                offset += room
                if pending.count >= maximumLength {
                    line(pending)
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    public mutating func feed(_ bytes: [UInt8], line: ([UInt8]) -> Void) {
        bytes.withUnsafeBytes { feed($0, line: line) }
    }

    /// Hands on what is left after the stream ended without a final newline.
    public mutating func finish(line: ([UInt8]) -> Void) {
        if !pending.isEmpty { line(pending) }
        pending.removeAll()
    }
}
