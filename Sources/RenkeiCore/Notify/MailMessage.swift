/// A notice as an Internet message (RFC 5322 with MIME): UTF-8 body in base64 (`text/plain;
/// charset=UTF-8`), the subject as RFC 2047 encoded words, so that any MTA carries Japanese
/// intact. `sendmail -t` reads the recipients from `To:`.
public struct MailMessage: Sendable, Equatable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String
    /// When it was written; the `Date:` header (in UTC).
    public var date: Instant
    /// `<…@host>`, unique per message.
    public var messageID: String

    public init(from: String, to: [String], subject: String, body: String, date: Instant, messageID: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
    }

    /// The whole message, CRLF line ends, ready for sendmail's standard input.
    public var text: String {
        var headers = [
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(Self.encodedWords(subject))",
            "Date: \(Self.rfc5322(date))",
            "Message-ID: \(messageID)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=UTF-8",
            "Content-Transfer-Encoding: base64",
            "Auto-Submitted: auto-generated",
        ]
        headers.append("")
        let encoded = Self.base64(Array(body.utf8))
        var lines = headers
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Plain ASCII without specials stays as it is; anything else becomes `=?UTF-8?B?…?=` words
    /// of at most 75 characters each, split between characters, never inside one.
    public static func encodedWords(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) && !text.contains("=?") { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        // 39 bytes of UTF-8 → 52 base64 characters + 12 of `=?UTF-8?B?` `?=` = 64, so that even
        // the first line, after `Subject: `, stays within 78 characters.
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 39 {
                words.append("=?UTF-8?B?\(base64(chunk))?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(base64(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index], b1 = index + 1 < bytes.count ? bytes[index + 1] : 0, b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0f) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3f)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `Tue, 01 Dec 2026 21:30:00 +0000`.
    static func rfc5322(_ instant: Instant) -> String {
        let t = BrokenDownTime(localSeconds: instant.secondsSinceEpoch)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        // 1970-01-01 was a Thursday.
        let weekday = Int(((instant.secondsSinceEpoch / 86_400) % 7 + 11) % 7)
        return "\(days[weekday]), \(two(t.day)) \(months[t.month]) \(t.year) \(two(t.hour)):\(two(t.minute)):\(two(t.second)) +0000"
    }
}
