/// The code tables, built on first use from the generated text beside this file
/// (Tools/encoding-tables/generate.py writes it from Python's codecs).
///
/// Each table lives for the whole process in memory of its own and is read through a pointer: the
/// conversion loops look up millions of characters a second, and every index they use is bounded
/// by construction (a row from `rowOfLead`, a byte checked against the row's range), so Array's
/// bounds checks and reference counting would only cost time.
enum CodeTable {
    static let cp932 = DoubleByteTable(generated: cp932Base64)
    static let shiftJIS = DoubleByteTable(generated: shiftJISBase64)
    static let eucJP = EUCTable(x0208: eucJPX0208Base64, x0212: eucJPX0212Base64)

    /// The JIS X 0208 positions that CP932 and the JIS table name with different code points:
    /// U+FF5E and U+301C for 〜, U+2225 and U+2016 for ‖, and four more.
    static let otherNames: [(cp932: UInt16, jis: UInt16)] = {
        var pairs: [(cp932: UInt16, jis: UInt16)] = []
        for index in 0..<DoubleByteTable.rows * DoubleByteTable.trailsPerRow {
            let microsoft = cp932.scalars[index], jis = shiftJIS.scalars[index]
            if microsoft != 0, jis != 0, microsoft != jis { pairs.append((microsoft, jis)) }
        }
        return pairs
    }()

    static let cp932Encoding = EncodingTable.cp932()
    static let shiftJISEncoding = EncodingTable.shiftJIS()
    static let eucJPEncoding = EncodingTable.eucJP()
}

/// A Shift_JIS-family table: the character of each lead and trail byte.
struct DoubleByteTable: @unchecked Sendable {
    /// Lead bytes 0x81–0x9F and 0xE0–0xFC, in order, are rows 0–59.
    static let rows = 60
    /// Trail bytes 0x40–0xFF, so that any byte from 0x40 up indexes a row without a second check.
    static let trailsPerRow = 192
    static let notLead: UInt8 = 0xFF

    /// The row of each byte that leads a two-byte character, `notLead` for the others.
    let rowOfLead: UnsafePointer<UInt8>
    /// The scalar value of row × `trailsPerRow` + (trail − 0x40); 0 where no character is.
    let scalars: UnsafePointer<UInt16>

    init(generated base64: String) {
        let bytes = decodeBase64(base64)
        let generatedTrails = 0xFD - 0x40
        precondition(bytes.count == Self.rows * generatedTrails * 2, "generated table has the wrong size")
        let rowOfLead = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        rowOfLead.initialize(repeating: Self.notLead, count: 256)
        for (row, lead) in (Array(0x81...0x9F) + Array(0xE0...0xFC)).enumerated() {
            rowOfLead[lead] = UInt8(row)
        }
        let scalars = UnsafeMutablePointer<UInt16>.allocate(capacity: Self.rows * Self.trailsPerRow)
        scalars.initialize(repeating: 0, count: Self.rows * Self.trailsPerRow)
        for row in 0..<Self.rows {
            for trail in 0..<generatedTrails {
                let at = (row * generatedTrails + trail) * 2
                scalars[row * Self.trailsPerRow + trail] = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
            }
        }
        self.rowOfLead = UnsafePointer(rowOfLead)
        self.scalars = UnsafePointer(scalars)
    }

    /// The lead byte of `row`.
    static func lead(ofRow row: Int) -> UInt8 {
        UInt8(row < 0x1F ? 0x81 + row : 0xE0 + row - 0x1F)
    }
}

/// EUC-JP's two planes: JIS X 0208 (two bytes 0xA1–0xFE) and JIS X 0212 (0x8F and two more).
struct EUCTable: @unchecked Sendable {
    static let cells = 94
    /// The scalar value of (first − 0xA1) × 94 + (second − 0xA1); 0 where no character is.
    let x0208: UnsafePointer<UInt16>
    let x0212: UnsafePointer<UInt16>

    init(x0208: String, x0212: String) {
        self.x0208 = Self.plane(x0208)
        self.x0212 = Self.plane(x0212)
    }

    private static func plane(_ base64: String) -> UnsafePointer<UInt16> {
        let bytes = decodeBase64(base64)
        precondition(bytes.count == cells * cells * 2, "generated table has the wrong size")
        let plane = UnsafeMutablePointer<UInt16>.allocate(capacity: cells * cells)
        for index in 0..<cells * cells {
            plane[index] = UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8
        }
        return UnsafePointer(plane)
    }
}
