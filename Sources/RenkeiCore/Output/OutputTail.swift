/// The last `capacity` bytes of a stream. A step may print gigabytes; the run record keeps only
/// the end, which is where the error usually is.
public struct OutputTail: Sendable {
    /// How many bytes are kept.
    public let capacity: Int
    /// Up to twice `capacity`, trimmed back to `capacity` when full, so appends stay cheap.
    private var buffer: [UInt8] = []
    /// Bytes seen in all, kept or not.
    public private(set) var totalBytes: Int = 0

    public static let defaultCapacity = 64 * 1024

    public init(capacity: Int = OutputTail.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
        buffer.reserveCapacity(min(capacity * 2, 1 << 20))
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let typed = UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        totalBytes += typed.count
        if typed.count >= capacity {
            buffer = Array(UnsafeBufferPointer(rebasing: typed[(typed.count - capacity)...]))
            return
        }
        buffer.append(contentsOf: typed)
        if buffer.count > capacity * 2 { buffer.removeFirst(buffer.count - capacity) }
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The kept bytes, at most `capacity`.
    public var bytes: [UInt8] { Array(buffer.suffix(capacity)) }

    /// Whether earlier bytes were dropped.
    public var isTruncated: Bool { totalBytes > capacity }
}
