import Testing
@testable import RenkeiEncoding

/// Each encoding read and written over its whole code space, against what the generator computed
/// from Python's codecs (Expected.swift) — through the public decoder, encoder and converter, so a
/// mistake in the tables, in their layout or in the loops shows up here, by lead byte or block.
@Suite struct CodeTableTests {
    static let encodings: [(TextEncoding, decoding: [UInt8: (Int, UInt64)], encoding: [UInt32: (Int, UInt64)])] = [
        (.cp932, Expected.cp932Decoding, Expected.cp932Encoding),
        (.shiftJIS, Expected.shiftJISDecoding, Expected.shiftJISEncoding),
        (.eucJP, Expected.eucJPDecoding, Expected.eucJPEncoding),
    ]

    @Test(arguments: [TextEncoding.cp932, .shiftJIS, .eucJP])
    func readsEveryCodeAsPythonDoes(_ encoding: TextEncoding) {
        let expected = Self.encodings.first { $0.0 == encoding }!.decoding
        var actual: [UInt8: (count: Int, digest: FNV1a)] = [:]
        for code in Codes.of(encoding) {
            var entry = actual[code.bytes[0], default: (0, FNV1a())]
            entry.count += 1
            entry.digest.add(code.bytes)
            entry.digest.add(bigEndian: code.scalar)
            actual[code.bytes[0]] = entry
        }
        let wrongLeads = (0...255).map(UInt8.init).filter { lead in
            let (count, digest) = actual[lead].map { ($0.count, $0.digest.value) } ?? (0, FNV1a().value)
            let (expectedCount, expectedDigest) = expected[lead] ?? (0, FNV1a().value)
            return count != expectedCount || digest != expectedDigest
        }
        #expect(wrongLeads.isEmpty, "\(encoding) reads these lead bytes unlike Python: \(hex(wrongLeads))")
        #expect(Codes.of(encoding).count == expected.values.reduce(0) { $0 + $1.0 })
    }

    @Test(arguments: [TextEncoding.cp932, .shiftJIS, .eucJP])
    func convertsEveryCodeToUTF8AsItReadsIt(_ encoding: TextEncoding) throws {
        for code in Codes.of(encoding) {
            let utf8 = Array(String(Character(Unicode.Scalar(code.scalar)!)).utf8)
            #expect(try convert(code.bytes, from: encoding, to: .utf8) == utf8, "\(hex(code.bytes))")
        }
    }

    @Test(arguments: [TextEncoding.cp932, .shiftJIS, .eucJP])
    func writesEveryScalarAsExpected(_ encoding: TextEncoding) {
        let expected = Self.encodings.first { $0.0 == encoding }!.encoding
        var actual: [UInt32: (count: Int, digest: FNV1a)] = [:]
        let encoder = TextEncoder(encoding)
        for scalar in everyScalar where encoder.canEncode(scalar) {
            let bytes = encode(String(scalar), as: encoding)!
            var entry = actual[scalar.value >> 12, default: (0, FNV1a())]
            entry.count += 1
            entry.digest.add(bigEndian: scalar.value)
            entry.digest.add([UInt8(bytes.count)] + bytes)
            actual[scalar.value >> 12] = entry
        }
        let blocks = Set(actual.keys).union(expected.keys).sorted()
        let wrongBlocks = blocks.filter { block in
            actual[block].map { ($0.count, $0.digest.value) } ?? (0, 0) != expected[block] ?? (0, 0)
        }
        #expect(wrongBlocks.isEmpty, "\(encoding) writes these blocks of 0x1000 scalars unlike expected: \(wrongBlocks.map { Unicode.Scalar.codePoint($0 << 12) })")
    }

    @Test(arguments: [TextEncoding.cp932, .shiftJIS, .eucJP])
    func convertsFromUTF8AsTheEncoderWrites(_ encoding: TextEncoding) {
        let encoder = TextEncoder(encoding)
        for value in UInt32(0x80)...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let converted = try? convert(Array(String(scalar).utf8), from: .utf8, to: encoding)
            #expect(converted == encode(String(scalar), as: encoding), "\(scalar.codePointDescription)")
            #expect((converted != nil) == encoder.canEncode(scalar))
        }
    }
}
