/// What a legacy Japanese encoding writes for each scalar of the Basic Multilingual Plane (none of
/// them has a character beyond it); ASCII is written as itself before this table is asked.
///
/// A code is 0 where the encoding has no bytes for the scalar. Otherwise, for the Shift_JIS family:
/// one byte 0xA1–0xDF (half-width katakana) or a lead and a trail byte. For EUC-JP: 0x8EA1–0x8EDF
/// (half-width katakana), two bytes from 0xA1A1 (JIS X 0208), or a JIS X 0212 row and cell
/// 0x2121–0x7E7E, written after 0x8F with their high bits set.
struct EncodingTable: @unchecked Sendable {
    let codes: UnsafePointer<UInt16>

    private init(_ fill: (UnsafeMutablePointer<UInt16>) -> Void) {
        let codes = UnsafeMutablePointer<UInt16>.allocate(capacity: 0x10000)
        codes.initialize(repeating: 0, count: 0x10000)
        fill(codes)
        self.codes = UnsafePointer(codes)
    }

    /// Where CP932 has a character twice, the form Windows writes (as iconv does): JIS X 0208
    /// before NEC row 13 (≒ U+2252 is 0x81E0, not 0x8790), NEC row 13 before the IBM extensions
    /// (Ⅰ is 0x8754), and the IBM extensions before their NEC-selected copies (髙 U+9AD9 is 0xFBFC,
    /// not 0xEEE0; Python writes the NEC-selected copy here, Windows and iconv do not).
    /// The JIS table's names of JIS X 0208 characters (〜 U+301C) are written at their position
    /// too, as Python's cp932 does: the same character, named by the other table.
    static func cp932() -> EncodingTable {
        EncodingTable { codes in
            let table = CodeTable.cp932
            func preference(_ row: Int) -> Int {
                switch DoubleByteTable.lead(ofRow: row) {
                case 0x87: 1
                case 0xFA...0xFC: 2
                case 0xED...0xEE: 3
                default: 0
                }
            }
            let rows = (0..<DoubleByteTable.rows).sorted { (preference($0), $0) < (preference($1), $1) }
            addDoubleBytes(of: table, rows: rows, to: codes)
            addHalfWidthKatakana(to: codes, code: { 0xA1 + $0 })
            for (microsoft, jis) in CodeTable.otherNames where codes[Int(jis)] == 0 {
                codes[Int(jis)] = codes[Int(microsoft)]
            }
        }
    }

    /// JIS X 0208 by its own table; CP932's names of the same characters (U+FF5E for 〜) are written
    /// at their JIS X 0208 position, so that any text within the `jisx0208` repertoire can be written.
    static func shiftJIS() -> EncodingTable {
        EncodingTable { codes in
            addDoubleBytes(of: CodeTable.shiftJIS, rows: Array(0..<DoubleByteTable.rows), to: codes)
            addHalfWidthKatakana(to: codes, code: { 0xA1 + $0 })
            addOtherNames(to: codes)
        }
    }

    /// JIS X 0208, then half-width katakana, then JIS X 0212. JIS X 0212's TILDE (0x8FA2B7), which
    /// Python reads as U+007E, is never written: ASCII `~` is 0x7E.
    static func eucJP() -> EncodingTable {
        EncodingTable { codes in
            let table = CodeTable.eucJP
            let cells = EUCTable.cells
            for index in 0..<cells * cells {
                let scalar = Int(table.x0208[index])
                if scalar >= 0x80, codes[scalar] == 0 {
                    codes[scalar] = UInt16(0xA1 + index / cells) << 8 | UInt16(0xA1 + index % cells)
                }
            }
            addHalfWidthKatakana(to: codes, code: { 0x8EA1 + $0 })
            for index in 0..<cells * cells {
                let scalar = Int(table.x0212[index])
                if scalar >= 0x80, codes[scalar] == 0 {
                    codes[scalar] = UInt16(0x21 + index / cells) << 8 | UInt16(0x21 + index % cells)
                }
            }
            addOtherNames(to: codes)
        }
    }

    private static func addDoubleBytes(of table: DoubleByteTable, rows: [Int], to codes: UnsafeMutablePointer<UInt16>) {
        for row in rows {
            let lead = UInt16(DoubleByteTable.lead(ofRow: row))
            for trail in 0..<DoubleByteTable.trailsPerRow {
                let scalar = Int(table.scalars[row * DoubleByteTable.trailsPerRow + trail])
                if scalar != 0, codes[scalar] == 0 {
                    codes[scalar] = lead << 8 | UInt16(0x40 + trail)
                }
            }
        }
    }

    private static func addHalfWidthKatakana(to codes: UnsafeMutablePointer<UInt16>, code: (UInt16) -> UInt16) {
        for offset: UInt16 in 0...(0xFF9F - 0xFF61) {
            codes[Int(0xFF61 + offset)] = code(offset)
        }
    }

    private static func addOtherNames(to codes: UnsafeMutablePointer<UInt16>) {
        for (microsoft, jis) in CodeTable.otherNames where codes[Int(microsoft)] == 0 {
            codes[Int(microsoft)] = codes[Int(jis)]
        }
    }
}
