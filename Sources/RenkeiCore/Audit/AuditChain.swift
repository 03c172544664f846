import Crypto

/// The audit table is a hash chain: each row's hash covers the previous row's hash and this row's
/// fields, so a row that is edited, deleted or inserted afterwards breaks every hash after it.
/// Anyone who can write the table can recompute the chain, though; that is what the journal's
/// copy of each head (`AuditHead`) and the keyed chain (`AuditSealing.keyed`) are for.
public enum AuditChain {
    /// The `previous` of the first row.
    public static let genesis = String(repeating: "0", count: 64)

    /// SHA-256 (hex) over the previous hash and the fields, each length-prefixed so that no two
    /// different rows can serialize alike; HMAC-SHA256 under `key` when there is one.
    public static func hash(previous: String, fields: [String], key: [UInt8]? = nil) -> String {
        var bytes = Array(previous.utf8)
        for field in fields {
            let data = Array(field.utf8)
            bytes += Array("\(data.count):".utf8) + data + [0x1F]
        }
        if let key {
            return hex(HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: key)))
        }
        return hex(SHA256.hash(data: bytes))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }
}

/// How a row's hash was made; stored with the row.
public enum AuditSealing: String, Sendable, Codable, Equatable {
    /// SHA-256: anyone who can write the table can recompute it.
    case plain = "sha256"
    /// HMAC-SHA256 under the key renkeid was given as the `renkei-audit-key` credential: without
    /// the key nobody can make a hash that fits.
    case keyed = "hmac-sha256"
}

/// The newest row of the audit chain: its id (the sequence number) and its hash. Each append
/// sends it to the journal, and the daily report carries it.
public struct AuditHead: Sendable, Equatable, Codable {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}
