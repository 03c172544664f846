import Foundation
import RenkeiCore
import Testing
@testable import RenkeiPostgres

/// Where a store's password comes from: never the URL; systemd's credential, else libpq's password file.
@Suite struct PostgresPasswordTests {
    let tcp = PostgresAddress(transport: .tcp(host: "db.city.example"), user: "renkei_node", database: "renkei")
    let socket = PostgresAddress(transport: .unixSocket(directory: "/run/postgresql"), user: "renkei", database: "renkei")

    private func scratch(_ name: String, _ text: String, mode: mode_t) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-pw-\(UUID().uuidString.prefix(8))-\(name)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: Int(mode)])
        return path
    }

    @Test func aPasswordFileIsReadAsLibpqReadsItFirstMatchWinsWithWildcardsAndEscapes() {
        let text = """
            # host:port:database:user:password
            other.example:5432:renkei:renkei_node:not-this-one
            db.city.example:5432:renkei:renkei_node:s3cr\\:et\\\\x
            *:*:*:renkei_node:too-late
            localhost:5432:renkei:renkei:local-one
            """
        let file = scratch("pgpass", text, mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(PostgresPassword.lookup(tcp, environment: ["PGPASSFILE": file]) == "s3cr:et\\x")
        #expect(PostgresPassword.lookup(socket, environment: ["PGPASSFILE": file]) == "local-one")
        let elsewhere = PostgresAddress(transport: .tcp(host: "db2.example"), port: 6432, user: "renkei_node", database: "x")
        #expect(PostgresPassword.lookup(elsewhere, environment: ["PGPASSFILE": file]) == "too-late")
        #expect(PostgresPassword.lookup(PostgresAddress(transport: .tcp(host: "db2.example"), user: "someone", database: "x"),
                                        environment: ["PGPASSFILE": file]) == nil)
    }

    @Test func aPasswordFileOthersMayReadIsIgnoredAndTheSystemdCredentialComesFirst() throws {
        let open = scratch("pgpass-open", "*:*:*:*:readable-by-all\n", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: open) }
        #expect(PostgresPassword.lookup(tcp, environment: ["PGPASSFILE": open]) == nil)

        let credentials = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-cred-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: credentials) }
        _ = FileManager.default.createFile(atPath: credentials + "/renkei-store-password", contents: Data("from-systemd\n".utf8),
                                       attributes: [.posixPermissions: 0o400])
        let file = scratch("pgpass2", "*:*:*:*:from-file\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(PostgresPassword.lookup(tcp, environment: ["CREDENTIALS_DIRECTORY": credentials, "PGPASSFILE": file]) == "from-systemd")
        #expect(PostgresPassword.lookup(tcp, environment: ["PGPASSFILE": file]) == "from-file")
    }

    @Test("a role with a password logs in with the one from the password file, and is refused without it (exit 4)")
    func aRealServerTakesThePasswordFromThePasswordFile() async throws {
        let postgres = try await ScratchPostgres().migrated()
        // The scratch server trusts every local connection; this role alone must give a password.
        #expect(try postgres.psql("CREATE ROLE renkei_pw LOGIN PASSWORD 'pw-from-file' IN ROLE renkei").status == 0)
        let hba = postgres.directory + "/data/pg_hba.conf"
        let rules = try String(contentsOfFile: hba, encoding: .utf8)
        try ("local all renkei_pw scram-sha-256\n" + rules).write(toFile: hba, atomically: true, encoding: .utf8)
        #expect(try postgres.psql("SELECT pg_reload_conf()").status == 0)
        let url = postgres.url(user: "renkei_pw")
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PGPASSFILE")
        environment["HOME"] = "/nonexistent"
        let refused = try execute(renkeictl, ["status", "--store", url], environment: environment)
        #expect(refused.status == 4, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("asks a password of the role renkei_pw") && refused.stderr.contains("localhost:5432:renkei:renkei_pw:PASSWORD"), "\(refused.stderr)")
        let file = scratch("pgpass-real", "localhost:5432:renkei:renkei_pw:pw-from-file\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: file) }
        environment["PGPASSFILE"] = file
        let admitted = try execute(renkeictl, ["status", "--store", url], environment: environment)
        #expect(admitted.status == 0, "\(admitted.stdout) \(admitted.stderr)")
        #expect(!admitted.stdout.contains("pw-from-file") && !admitted.stderr.contains("pw-from-file"))
    }
}
