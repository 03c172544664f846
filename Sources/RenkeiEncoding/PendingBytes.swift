/// The first bytes of a character that a chunk ended inside, kept until the next chunk brings the
/// rest: files are read in chunks of any size, and a chunk boundary falls anywhere.
struct PendingBytes: Sendable {
    /// At most 3 bytes (a character is at most 4), first in the lowest byte.
    private var storage: UInt64 = 0
    private(set) var count = 0

    var bytes: [UInt8] { withUnsafeBytes(of: storage.littleEndian) { Array($0.prefix(count)) } }

    mutating func append(_ input: UnsafePointer<UInt8>, count added: Int) {
        precondition(count + added < 4, "more pending bytes than a character has")
        for index in 0..<added {
            storage |= UInt64(input[index]) << (8 * UInt64(count + index))
        }
        count += added
    }

    mutating func removeAll() {
        storage = 0
        count = 0
    }

    /// Reads one character from these bytes followed by `input`: what it is, and how many bytes of
    /// `input` it takes (for `.incomplete`, all of them: they belong to the pending character).
    func read<Reader: CharacterReader>(with reader: Reader, then input: UnsafePointer<UInt8>, count inputCount: Int) -> (step: ReadStep, taken: Int) {
        var scratch = (storage, UInt64(0))
        let copied = min(inputCount, 16 - count)
        return withUnsafeMutableBytes(of: &scratch) { raw in
            let bytes = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for index in 0..<copied { bytes[count + index] = input[index] }
            let step = reader.read(UnsafePointer(bytes), count: count + copied)
            switch step {
            case .incomplete: return (step, copied)
            case .scalar(_, let length), .problem(_, let length): return (step, length - count)
            }
        }
    }

    /// The first `length` bytes of these followed by `input`.
    func prefix(_ length: Int, then input: UnsafePointer<UInt8>, count inputCount: Int) -> [UInt8] {
        let own = bytes.prefix(length)
        return Array(own) + UnsafeBufferPointer(start: input, count: min(inputCount, length - own.count))
    }
}

extension ReadStep {
    /// The bytes the step covers (0 for `.incomplete`).
    var length: Int {
        switch self {
        case .scalar(_, let length), .problem(_, let length): length
        case .incomplete: 0
        }
    }
}
