/// Writes one scalar in an encoding: at most 4 bytes at `bytes`, returning how many; 0 when the
/// encoding has no bytes for it (nothing is written then).
protocol CharacterWriter {
    func write(_ scalar: UInt32, to bytes: UnsafeMutablePointer<UInt8>) -> Int
}

struct UTF8Writer: CharacterWriter {
    @inline(__always)
    func write(_ scalar: UInt32, to bytes: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case ..<0x80:
            bytes[0] = UInt8(truncatingIfNeeded: scalar)
            return 1
        case ..<0x800:
            bytes[0] = 0xC0 | UInt8(truncatingIfNeeded: scalar >> 6)
            bytes[1] = 0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F)
            return 2
        case ..<0x10000:
            bytes[0] = 0xE0 | UInt8(truncatingIfNeeded: scalar >> 12)
            bytes[1] = 0x80 | UInt8(truncatingIfNeeded: scalar >> 6 & 0x3F)
            bytes[2] = 0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F)
            return 3
        default:
            bytes[0] = 0xF0 | UInt8(truncatingIfNeeded: scalar >> 18)
            bytes[1] = 0x80 | UInt8(truncatingIfNeeded: scalar >> 12 & 0x3F)
            bytes[2] = 0x80 | UInt8(truncatingIfNeeded: scalar >> 6 & 0x3F)
            bytes[3] = 0x80 | UInt8(truncatingIfNeeded: scalar & 0x3F)
            return 4
        }
    }
}

/// CP932 or Shift_JIS, by their `EncodingTable`.
struct ShiftJISWriter: CharacterWriter {
    let table: EncodingTable

    @inline(__always)
    func write(_ scalar: UInt32, to bytes: UnsafeMutablePointer<UInt8>) -> Int {
        if scalar < 0x80 {
            bytes[0] = UInt8(truncatingIfNeeded: scalar)
            return 1
        }
        guard scalar < 0x10000 else { return 0 }
        let code = table.codes[Int(scalar)]
        if code == 0 { return 0 }
        if code < 0x100 {
            bytes[0] = UInt8(truncatingIfNeeded: code)
            return 1
        }
        bytes[0] = UInt8(truncatingIfNeeded: code >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: code)
        return 2
    }
}

/// EUC-JP, by its `EncodingTable`.
struct EUCJPWriter: CharacterWriter {
    let table: EncodingTable

    @inline(__always)
    func write(_ scalar: UInt32, to bytes: UnsafeMutablePointer<UInt8>) -> Int {
        if scalar < 0x80 {
            bytes[0] = UInt8(truncatingIfNeeded: scalar)
            return 1
        }
        guard scalar < 0x10000 else { return 0 }
        let code = table.codes[Int(scalar)]
        if code == 0 { return 0 }
        if code < 0x8000 {  // JIS X 0212
            bytes[0] = 0x8F
            bytes[1] = UInt8(truncatingIfNeeded: code >> 8) | 0x80
            bytes[2] = UInt8(truncatingIfNeeded: code) | 0x80
            return 3
        }
        bytes[0] = UInt8(truncatingIfNeeded: code >> 8)
        bytes[1] = UInt8(truncatingIfNeeded: code)
        return 2
    }
}
