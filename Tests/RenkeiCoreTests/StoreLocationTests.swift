import Testing
@testable import RenkeiCore

@Suite struct StoreLocationTests {
    @Test func sqliteIsAPath() throws {
        #expect(try StoreLocation.parse("sqlite:/var/lib/renkei/renkei.sqlite") == .sqlite(path: "/var/lib/renkei/renkei.sqlite"))
        #expect(try StoreLocation.parse("sqlite:.renkei/renkei.sqlite") == .sqlite(path: ".renkei/renkei.sqlite"))
        #expect(try StoreLocation.parse("sqlite:///var/lib/renkei/x.sqlite") == .sqlite(path: "/var/lib/renkei/x.sqlite"))
    }

    @Test func aUnixSocketURLNamesTheSocketFile() throws {
        let location = try StoreLocation.parse("postgresql:///renkei?host=/run/postgresql&user=renkei")
        guard case .postgresql(let address) = location else { Issue.record("not postgresql"); return }
        #expect(address == PostgresAddress(transport: .unixSocket(directory: "/run/postgresql"), port: 5432, user: "renkei", database: "renkei"))
        #expect(address.socketFile == "/run/postgresql/.s.PGSQL.5432")
        #expect(address.description == "postgresql:///renkei?host=/run/postgresql&user=renkei")
        // The directory %-encoded in the host part, a user before @, another port, postgres://.
        let other = try StoreLocation.parse("postgres://ops@%2Fsrv%2Fpg:5433/links")
        #expect(other == .postgresql(PostgresAddress(transport: .unixSocket(directory: "/srv/pg"), port: 5433, user: "ops", database: "links")))
        if case .postgresql(let address) = other { #expect(address.socketFile == "/srv/pg/.s.PGSQL.5433") }
    }

    @Test func tcpNeedsTLS() throws {
        let location = try StoreLocation.parse("postgresql://db.city.example:5432/renkei?user=renkei&sslmode=require")
        #expect(location == .postgresql(PostgresAddress(transport: .tcp(host: "db.city.example"), user: "renkei", database: "renkei")))
        #expect(throws: StoreLocationProblem(argument: "--store", text: "postgresql://db.city.example/renkei?user=renkei",
                                             reason: "TCP to 'db.city.example' without TLS would send run records and the audit in clear: add sslmode=require, or use a Unix socket (host=/run/postgresql)")) {
            try StoreLocation.parse("postgresql://db.city.example/renkei?user=renkei")
        }
    }

    @Test(arguments: [
        ("", "unknown kind of store"),
        ("/var/lib/renkei/renkei.sqlite", "unknown kind of store: write sqlite:PATH or postgresql:///DATABASE?host=SOCKET_DIRECTORY&user=ROLE"),
        ("mysql://x/renkei", "unknown kind of store"),
        ("sqlite:", "no file after sqlite:"),
        ("postgresql:///?host=/run/postgresql&user=renkei", "no database"),
        ("postgresql:///renkei?host=/run/postgresql", "no role: add user=ROLE"),
        ("postgresql:///renkei?user=renkei", "no server: add host=SOCKET_DIRECTORY"),
        ("postgresql:///renkei?host=/run/postgresql&user=renkei&password=hunter2", "a password in the URL would show in ps"),
        ("postgresql://renkei:hunter2@db/renkei?sslmode=require", "a password in the URL would show in ps"),
        ("postgres://renkei:hunter2@db:5432/renkei?sslmode=require&PASSWORD=hunter2", "unknown setting 'PASSWORD'"),
        ("postgresql:///renkei?host=/run/postgresql&user=renkei&sslmod=require", "unknown setting 'sslmod'"),
        ("postgresql:///renkei?host=/run/postgresql&user=renkei&user=other", "'user' is given twice"),
        ("postgresql:///renkei?host=/run/postgresql&user=renkei&port=99999", "port '99999' is not a port number"),
        ("postgresql:///renkei?host=/run/postgresql&user=renkei&sslmode=require", "sslmode=require over a Unix socket"),
        ("postgresql:///renkei?host=/run/postgresql&user=renkei&sslmode=prefer", "sslmode=prefer is not read"),
        ("postgresql:///renkei?host=%2&user=renkei", "broken %-escape"),
        ("postgresql:///renkei?host&user=renkei", "'host' has no value"),
    ])
    func refusals(text: String, reason: String) {
        do {
            let location = try StoreLocation.parse(text, argument: "RENKEI_STORE")
            Issue.record("'\(text)' was read as \(location)")
        } catch {
            // A password is never repeated back (the message reaches terminals, the journal, mail).
            #expect(error.description.hasPrefix("RENKEI_STORE '\(text.replacingOccurrences(of: "hunter2", with: "(redacted)"))': "), "\(error)")
            #expect(!error.description.contains("hunter2"), "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }
}
