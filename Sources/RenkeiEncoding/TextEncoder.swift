/// Writes scalars one at a time in an encoding. For whole files, `TextConverter` is the fast way;
/// this is for text built piece by piece (a report, a replacement value, a test).
public struct TextEncoder: Sendable {
    public let encoding: TextEncoding
    /// Whether anything was written yet: `utf-8-bom` writes its byte order mark first.
    private var started = false

    public init(_ encoding: TextEncoding) {
        self.encoding = encoding
    }

    /// Whether `encoding` has bytes for `scalar`.
    public func canEncode(_ scalar: Unicode.Scalar) -> Bool {
        var scratch: UInt32 = 0
        return withUnsafeMutableBytes(of: &scratch) { buffer in
            write(scalar.value, to: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)) > 0
        }
    }

    /// Appends `scalar`'s bytes to `output`; when `encoding` has none, appends nothing and throws.
    public mutating func encode(_ scalar: Unicode.Scalar, into output: inout [UInt8]) throws(UnencodableCharacter) {
        var scratch: UInt32 = 0
        let count = withUnsafeMutableBytes(of: &scratch) { buffer in
            write(scalar.value, to: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard count > 0 else { throw UnencodableCharacter(scalar: scalar, encoding: encoding) }
        start(into: &output)
        withUnsafeBytes(of: scratch) { output.append(contentsOf: $0.prefix(count)) }
    }

    /// Appends every scalar of `text`; stops at the first that `encoding` cannot write.
    public mutating func encode(_ text: String, into output: inout [UInt8]) throws(UnencodableCharacter) {
        for scalar in text.unicodeScalars {
            try encode(scalar, into: &output)
        }
    }

    /// Ends the text: an empty `utf-8-bom` text is still its byte order mark.
    public mutating func finish(into output: inout [UInt8]) {
        start(into: &output)
    }

    private mutating func start(into output: inout [UInt8]) {
        guard !started else { return }
        started = true
        if encoding == .utf8BOM { output.append(contentsOf: byteOrderMark) }
    }

    private func write(_ scalar: UInt32, to bytes: UnsafeMutablePointer<UInt8>) -> Int {
        switch encoding {
        case .utf8, .utf8BOM: UTF8Writer().write(scalar, to: bytes)
        case .cp932: ShiftJISWriter(table: CodeTable.cp932Encoding).write(scalar, to: bytes)
        case .shiftJIS: ShiftJISWriter(table: CodeTable.shiftJISEncoding).write(scalar, to: bytes)
        case .eucJP: EUCJPWriter(table: CodeTable.eucJPEncoding).write(scalar, to: bytes)
        }
    }
}

/// UTF-8's byte order mark, U+FEFF.
let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
