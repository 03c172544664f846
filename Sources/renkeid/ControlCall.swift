import Foundation
import RenkeiControl

/// One connection's business with the daemon, as the control socket hands it over: who called
/// (from the kernel), and either the request they sent or why there is no request to serve.
/// Every connection the socket admits ends in exactly one call, and the call's answer is what
/// the client reads.
struct ControlCall: Sendable {
    /// Who is on the other end, as the kernel says.
    let peer: PeerCredentials
    let content: Content
    /// What the client sent, as the audit shows it (`AuditText`), without the newline.
    let sent: String

    enum Content: Sendable, Equatable {
        /// A whole, decodable request in this daemon's protocol version.
        case request(ControlRequest)
        /// Nothing the daemon may serve; answered with an error (and audited, see `Refusal.isAudited`).
        case refused(Refusal)
    }

    /// The audit text of a caller who was refused before anything was read.
    static let notRead = "(not read: refused at connect)"

    /// Why a connection carries no request the daemon may serve.
    enum Refusal: Sendable, Equatable {
        /// Not root, not renkeid's user, not in the operators' group: answered at once, nothing read.
        case notAllowed(operatorsGroup: String, daemonUser: String)
        /// No newline within the deadline after connecting, or before the client closed its end.
        case incomplete(bytes: Int, Incompleteness)
        /// A line longer than `ControlProtocol.maximumRequestBytes`.
        case tooLarge
        /// Not a JSON object of the protocol's shape; the text says what the decoder found.
        case undecodable(String)
        /// A protocol version other than this daemon's.
        case wrongVersion(Int)
        /// An operation this daemon does not know.
        case unknownOperation(String)

        enum Incompleteness: Sendable, Equatable {
            case deadline(Duration)
            case closed
        }

        /// Whether the refusal leaves an audit row. Anything that is not a read-only request this
        /// daemon can read — in its protocol version — counts as mutating, because nobody can tell
        /// what it meant to change; only a connection that sent nothing at all asked nothing (a
        /// probe of the socket, say), and leaves a journal line instead.
        var isAudited: Bool {
            if case .incomplete(bytes: 0, _) = self { return false }
            return true
        }

        /// `renkeictl`'s exit status: 4 permission denied, 2 invalid input.
        var exitStatus: Int32 {
            if case .notAllowed = self { return 4 }
            return 2
        }

        /// The audit row's result.
        var result: String {
            switch self {
            case .notAllowed: "refused: not an operator"
            case .incomplete(let bytes, .deadline(let deadline)):
                "refused: incomplete request: no newline within \(deadline.wholeSeconds) s of connecting (\(bytes) bytes read)"
            case .incomplete(let bytes, .closed): "refused: incomplete request: the client closed the connection before a newline (\(bytes) bytes read)"
            case .tooLarge: "refused: request too large (more than \(ControlProtocol.maximumRequestBytes) bytes)"
            case .undecodable(let why): "refused: undecodable request: \(why)"
            case .wrongVersion(let version): "refused: protocol version \(version) (this renkeid speaks \(ControlProtocol.version))"
            case .unknownOperation(let operation): "refused: unknown operation \"\(operation)\""
            }
        }

        /// The answer, for the person at `user`'s terminal.
        func message(to user: String) -> String {
            switch self {
            case .notAllowed(let group, let daemonUser):
                "permission denied: \(user) is not root, renkeid's user (\(daemonUser)) or a member of the operators' group '\(group)'; ask an administrator to add you (usermod -aG \(group) \(user)), then log in again"
            case .incomplete(_, .deadline(let deadline)):
                "no whole request within \(deadline.wholeSeconds) s of connecting: renkeid reads one JSON line, sent at once, as renkeictl sends it"
            case .incomplete(_, .closed):
                "the connection was closed before the end of the request line"
            case .tooLarge:
                "request too large (more than \(ControlProtocol.maximumRequestBytes) bytes)"
            case .undecodable(let why):
                "malformed request: one JSON object per line, as renkeictl sends (\(why))"
            case .wrongVersion(let version):
                "protocol version \(version) is not \(ControlProtocol.version): use the renkeictl that came with this renkeid"
            case .unknownOperation(let operation):
                "unknown operation \"\(operation)\": use the renkeictl that came with this renkeid"
            }
        }
    }

    /// Reads one request line (without its newline).
    static func content(ofLine line: [UInt8]) -> Content {
        let data = Data(line)
        // First what every version has, so an old or new client hears what is wrong rather than
        // which field the decoder tripped on.
        struct Envelope: Decodable {
            let version: Int
            let operation: String
        }
        let envelope: Envelope
        do { envelope = try ControlProtocol.decode(Envelope.self, from: data) } catch {
            return .refused(.undecodable(describe(error)))
        }
        guard envelope.version == ControlProtocol.version else { return .refused(.wrongVersion(envelope.version)) }
        guard ControlRequest.Operation(rawValue: envelope.operation) != nil else {
            return .refused(.unknownOperation(AuditText.escaping(Array(envelope.operation.utf8), limit: 64)))
        }
        do { return .request(try ControlProtocol.decode(ControlRequest.self, from: data)) } catch {
            return .refused(.undecodable(describe(error)))
        }
    }

    /// A decoder's complaint in a line, without Foundation's error dump.
    private static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context, _ key: CodingKey? = nil) -> String {
            ((context.codingPath + (key.map { [$0] } ?? [])).map(\.stringValue)).joined(separator: ".")
        }
        switch error {
        case DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty: return "not JSON"
        case DecodingError.dataCorrupted(let context): return "\"\(path(context))\": \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context): return "no \"\(path(context, key))\""
        case DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty: return "not a JSON object"
        case DecodingError.typeMismatch(let type, let context): return "\"\(path(context))\" is not \(type == Int.self || type == Int64.self ? "a number" : type == String.self ? "a string" : "\(type)")"
        case DecodingError.valueNotFound(_, let context): return "\"\(path(context))\" is null"
        default: return "\(error)"
        }
    }
}

extension Duration {
    /// Whole seconds, for messages.
    fileprivate var wholeSeconds: Int64 { components.seconds }
}

/// A request as the audit keeps it: what the client sent, cut to a bound, with everything that
/// would not show as itself written out — control and format characters (`\n`, `\u{1B}`,
/// `\u{202E}`) and bytes that are not UTF-8 (`\x{FF}`) — so a row can neither be unreadable nor
/// rearrange a terminal. A backslash is kept as sent, so a request in JSON still reads (and
/// parses) as JSON; a client could imitate an escape that way, which misleads nobody about who
/// sent it: uid, user and pid come from the kernel.
enum AuditText {
    /// The longest request text an audit row keeps, in bytes, before "… (N bytes)".
    static let limit = 512

    static func escaping(_ bytes: [UInt8], limit: Int = limit) -> String {
        var text = ""
        var kept = 0  // bytes of `bytes` written so far
        var parser = Unicode.UTF8.ForwardParser()
        var input = bytes.makeIterator()
        func add(_ piece: String, consumed: Int) -> Bool {
            guard text.utf8.count + piece.utf8.count <= limit else { return false }
            text += piece
            kept += consumed
            return true
        }
        parsing: while true {
            switch parser.parseScalar(from: &input) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                guard add(visible(scalar), consumed: encoded.count) else { break parsing }
            case .error(let length):
                let piece = bytes[kept..<kept + length].map { "\\x{" + hex($0) + "}" }.joined()
                guard add(piece, consumed: length) else { break parsing }
            case .emptyInput:
                break parsing
            }
        }
        if kept < bytes.count { text += "… (\(bytes.count) bytes)" }
        return text
    }

    private static func visible(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: return "\\u{" + hex(scalar.value) + "}"
            default: return String(scalar)
            }
        }
    }

    private static func hex(_ value: some BinaryInteger) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count % 2 == 1 ? "0" + digits : digits
    }
}
