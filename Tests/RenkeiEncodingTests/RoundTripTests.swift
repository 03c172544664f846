import Testing
@testable import RenkeiEncoding

/// Read and written again, every character comes back as the same bytes, except where an encoding
/// has one character at two codes: then it comes back in the form Windows writes (and, for EUC-JP,
/// as Python writes), exactly as the generator lists.
@Suite struct RoundTripTests {
    @Test(arguments: [
        (TextEncoding.cp932, Expected.cp932RoundTripChanges),
        (.shiftJIS, Expected.shiftJISRoundTripChanges),
        (.eucJP, Expected.eucJPRoundTripChanges),
    ])
    func everyCodeComesBackAsExpected(_ encoding: TextEncoding, _ expected: String) throws {
        var changes: [String] = []
        for code in Codes.of(encoding) {
            let text = String(Unicode.Scalar(code.scalar)!)
            let written = try #require(encode(text, as: encoding), "\(hex(code.bytes)) is read but cannot be written back")
            if written != code.bytes { changes.append("\(hex(code.bytes))>\(hex(written))") }
        }
        let expectedChanges = expected.split(separator: " ").map(String.init)
        #expect(Set(changes).subtracting(expectedChanges).sorted() == [], "changed, but should not be")
        #expect(Set(expectedChanges).subtracting(changes).sorted() == [], "should change, but did not")
    }

    @Test func cp932WritesWhatWindowsWritesForItsDuplicates() {
        #expect(encode("\u{2252}", as: .cp932) == [0x81, 0xE0])  // ≒: JIS X 0208, not NEC row 13 (0x8790)
        #expect(encode("\u{2235}", as: .cp932) == [0x81, 0xE6])  // ∵: JIS X 0208 before 0x879A and 0xFA5B
        #expect(encode("\u{FFE2}", as: .cp932) == [0x81, 0xCA])  // ￢: JIS X 0208 before 0xEEF9 and 0xFA54
        #expect(encode("\u{2160}", as: .cp932) == [0x87, 0x54])  // Ⅰ: NEC row 13 before IBM 0xFA4A
        #expect(encode("\u{3231}", as: .cp932) == [0x87, 0x8A])  // ㈱: NEC row 13 before IBM 0xFA58
        #expect(encode("\u{2170}", as: .cp932) == [0xFA, 0x40])  // ⅰ: IBM before NEC-selected 0xEEEF
        #expect(encode("\u{9AD9}", as: .cp932) == [0xFB, 0xFC])  // 髙: IBM before NEC-selected 0xEEE0
        #expect(encode("\u{FA11}", as: .cp932) == [0xFA, 0xB1])  // 﨑: IBM before NEC-selected 0xED95
        #expect(scalars([0xEE, 0xE0], as: .cp932) == [0x9AD9])   // and the NEC-selected form still reads
    }
}

/// cp932 and shift_jis differ exactly where Microsoft's table differs from the JIS table.
@Suite struct CP932AndShiftJISTests {
    @Test func theyReadDifferentlyExactlyWhereThePythonCodecsDo() {
        let cp932 = Dictionary(uniqueKeysWithValues: Codes.cp932.map { ($0.bytes, $0.scalar) })
        let shiftJIS = Dictionary(uniqueKeysWithValues: Codes.shiftJIS.map { ($0.bytes, $0.scalar) })
        #expect(shiftJIS.keys.allSatisfy { cp932[$0] != nil }, "shift_jis reads a code cp932 does not")
        let onlyCP932 = cp932.keys.filter { shiftJIS[$0] == nil }.map { $0.reduce(0) { $0 << 8 | Int($1) } }
        #expect(runs(onlyCP932) == Expected.onlyCP932)
        let different = shiftJIS.keys.filter { cp932[$0] != shiftJIS[$0] }.sorted { $0.lexicographicallyPrecedes($1) }
        let described = different.map { "\(hex($0)):\(String(cp932[$0]!, radix: 16, uppercase: true).leftPadded(4)):\(String(shiftJIS[$0]!, radix: 16, uppercase: true).leftPadded(4))" }
        #expect(described.joined(separator: " ") == Expected.cp932ShiftJISDifferent)
        #expect(described == ["8160:FF5E:301C", "8161:2225:2016", "817C:FF0D:2212", "8191:FFE0:00A2", "8192:FFE1:00A3", "81CA:FFE2:00AC"])
    }

    /// "8740-875D 875F" for sorted codes, as the generator writes them.
    private func runs(_ codes: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        let codes = codes.sorted()
        while index < codes.count {
            var end = index
            while end + 1 < codes.count, codes[end + 1] == codes[end] + 1 { end += 1 }
            let first = String(codes[index], radix: 16, uppercase: true).leftPadded(4)
            parts.append(index == end ? first : first + "-" + String(codes[end], radix: 16, uppercase: true).leftPadded(4))
            index = end + 1
        }
        return parts.joined(separator: " ")
    }
}
