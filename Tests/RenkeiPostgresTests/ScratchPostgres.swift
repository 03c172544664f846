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

    /// psql as the superuser, for what the tests check or break behind Renkei's back.
    func psql(_ sql: String, user: String = "renkei") throws -> Finished {
        try execute("/usr/lib/postgresql/15/bin/psql", ["-h", directory, "-U", user, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "renkei", "-c", sql])
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
