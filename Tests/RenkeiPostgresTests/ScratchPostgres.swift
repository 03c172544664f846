import Foundation
import RenkeiCore
import RenkeiPostgres

/// The repository, for the scripts and the built binaries.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The built `renkeictl` (swift build --build-tests builds it before the tests).
let renkeictl = repository + "/.build/debug/renkeictl"

/// A PostgreSQL 15 of the test's own (Tests/Support/scratch-postgres.sh): a data directory in
/// /tmp owned by a system user, a Unix socket only, database `renkei`, superuser role `renkei`,
/// and roles renkei_a and renkei_b that are members of it. Stopped and removed at the end.
final class ScratchPostgres {
    /// The data directory's parent, which is also the socket directory.
    let directory: String

    init() throws {
        let started = try execute(repository + "/Tests/Support/scratch-postgres.sh", ["start"])
        guard started.status == 0 else {
            throw ScratchFailure("scratch-postgres.sh start failed (\(started.status)): \(started.stderr)")
        }
        directory = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { _ = try? execute(repository + "/Tests/Support/scratch-postgres.sh", ["stop", directory]) }

    func url(user: String = "renkei") -> String { "postgresql:///renkei?host=\(directory)&user=\(user)" }

    func address(user: String = "renkei") -> PostgresAddress {
        PostgresAddress(transport: .unixSocket(directory: directory), user: user, database: "renkei")
    }

    /// A session for `body`, closed however `body` ends (PostgresNIO asserts on a connection
    /// dropped while open).
    func withSession<Result>(user: String = "renkei", name: String = "renkei-tests",
                             _ body: (PostgresSession) async throws -> Result) async throws -> Result {
        try await PostgresSession.with(address(user: user), applicationName: name, body)
    }

    /// A database at the newest schema.
    func migrated() async throws -> ScratchPostgres {
        _ = try await withSession { try await SchemaMigrator.migrate($0) }
        return self
    }

    /// pg_ctl restart -m fast: every connection is cut, the data stays.
    func restart() throws {
        let restarted = try execute(repository + "/Tests/Support/scratch-postgres.sh", ["restart", directory])
        guard restarted.status == 0 else { throw ScratchFailure("restart failed: \(restarted.stderr)") }
    }

    /// pg_ctl stop -m immediate, then start: every connection is cut without a shutdown
    /// checkpoint and the server recovers from its WAL, as after a crash of the machine's PostgreSQL.
    func crash() throws {
        let crashed = try execute(repository + "/Tests/Support/scratch-postgres.sh", ["crash", directory])
        guard crashed.status == 0 else { throw ScratchFailure("crash and start failed: \(crashed.stderr)") }
    }

    /// psql as the superuser, for what the tests check or break behind Renkei's back.
    func psql(_ sql: String, user: String = "renkei") throws -> Finished {
        try execute("/usr/lib/postgresql/15/bin/psql", ["-h", directory, "-U", user, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "renkei", "-c", sql])
    }
}

extension ScratchPostgres {
    /// `runs` queued scheduled runs of juki-to-fukushi, `spacing` seconds apart after 2026-12-01
    /// 06:30 +09:00, as a leader's ledger would have queued them. `eachItsOwnJob`: run N is of job
    /// `link-N` instead, so that several can run at once (one job runs once at a time).
    func queue(runs: Int, spacing: Int64 = 60, eachItsOwnJob: Bool = false) throws {
        let job = eachItsOwnJob ? "'link-' || n" : "'juki-to-fukushi'"
        let insert = try psql("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at)
            SELECT \(job), 1764538200 + n * \(spacing), 'Asia/Tokyo', 'schedule', 1, 'queued', 'abc', '{}', '{}', now()
            FROM generate_series(1, \(runs)) AS n
            """)
        guard insert.status == 0 else { throw ScratchFailure("queueing runs failed: \(insert.stderr)") }
    }

    /// A node registered on a session of its own (as one renkeid would be), closed however
    /// `body` ends.
    func withNode(_ name: String, user: String, host: String = "localhost", pid: Int32 = getpid(),
                  _ body: (NodeRegistration, PostgresSession) async throws -> Void) async throws {
        try await withSession(user: user, name: "node \(name)") { session in
            let node = NodeRegistration(name: name)
            try await node.register(session, host: host, pid: pid)
            try await body(node, session)
        }
    }
}

struct ScratchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Finished {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// The built renkeictl with this environment minus anything that would point it elsewhere (a
/// store, a state directory, a socket, a renkei.yaml naming a store); `store` as RENKEI_STORE.
func renkeictlRun(_ arguments: [String], store: String? = nil) throws -> Finished {
    var environment = ProcessInfo.processInfo.environment
    environment["RENKEI_STORE"] = store
    environment["RENKEI_STATE"] = nil
    environment["RENKEI_SOCKET"] = "/nonexistent/control.sock"
    environment["RENKEI_CONFIG"] = "/nonexistent/renkei.yaml"
    return try execute(renkeictl, arguments, environment: environment)
}

/// Runs a program to its end and returns its exit status and output.
func execute(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Finished(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}
