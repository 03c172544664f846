import Crypto

/// The audit table is a hash chain: each row's hash covers the previous row's hash and this row's
/// fields, so a row that is edited, deleted or inserted afterwards breaks every hash after it.
public enum AuditChain {
    /// The `previous` of the first row.
    public static let genesis = String(repeating: "0", count: 64)

    /// SHA-256 (hex) over the previous hash and the fields, each length-prefixed so that no two
    /// different rows can serialize alike.
    public static func hash(previous: String, fields: [String]) -> String {
        var bytes = Array(previous.utf8)
        for field in fields {
            let data = Array(field.utf8)
            bytes += Array("\(data.count):".utf8) + data + [0x1F]
        }
        return SHA256.hash(data: bytes).map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }
}
