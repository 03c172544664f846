import Foundation
import RenkeiCore

/// The password for a store whose server asks for one (TCP with `scram-sha-256` in pg_hba.conf),
/// from where PostgreSQL administrators and systemd keep them — never from the URL, which shows
/// in `ps`, shell history and unit files:
///
/// 1. the systemd credential `renkei-store-password` (`LoadCredential=renkei-store-password:/etc/renkei/store.password`
///    in a drop-in for renkeid.service): `$CREDENTIALS_DIRECTORY/renkei-store-password`;
/// 2. libpq's password file: `$PGPASSFILE`, else `~/.pgpass` — lines `host:port:database:user:password`,
///    `*` matching anything, `\:` and `\\` escaped, the first match wins, `localhost` for a Unix
///    socket; ignored, as libpq does, when its group or others may read it.
///
/// None: no password is sent (peer, trust or cert authentication).
public enum PostgresPassword {
    public static func lookup(_ address: PostgresAddress,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty,
           let text = try? String(contentsOfFile: directory + "/renkei-store-password", encoding: .utf8) {
            let password = text.trimmingCharacters(in: .newlines)
            if !password.isEmpty { return password }
        }
        let file = environment["PGPASSFILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].map { $0 + "/.pgpass" }
        guard let file, let text = privateText(file) else { return nil }
        return match(text, address)
    }

    /// The file's text, unless group or others may read it (libpq ignores such a file too).
    static func privateText(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o077 == 0 else { return nil }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// The password of the first line matching `address`.
    static func match(_ text: String, _ address: PostgresAddress) -> String? {
        let host: String
        switch address.transport {
        case .unixSocket: host = "localhost"
        case .tcp(let name): host = name
        }
        let wanted = [host, "\(address.port)", address.database, address.user]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// One line's fields: `:` separates, `\` escapes the next character.
    static func split(_ line: String) -> [String] {
        var fields: [String] = [], current = "", escaped = false
        for character in line {
            if escaped { current.append(character); escaped = false }
            else if character == "\\" { escaped = true }
            else if character == ":" && fields.count < 4 { fields.append(current); current = "" }
            else { current.append(character) }
        }
        fields.append(current)
        return fields
    }
}
