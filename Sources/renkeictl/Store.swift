import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPostgres

/// `renkeictl store …`: the store itself rather than what is in it.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Create or upgrade the run store's schema (PostgreSQL).",
        subcommands: [StoreMigrate.self]
    )
}

struct StoreMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create Renkei's tables in a PostgreSQL database, or upgrade them to this version.",
        discussion: """
            Run it as the role that is to own Renkei's tables; nodes log in as roles that are \
            members of it. Safe to run again: it says "already at version N" and changes nothing. \
            All pending steps are applied in one transaction, so a failure leaves the database as it was. \
            A SQLite store needs no migrate: renkeid and renkeictl upgrade it when they open it. \
            See docs/postgresql.md.

            Example:
              renkeictl store migrate --store "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    @Option(name: .long, help: ArgumentHelp("The store: postgresql:///DATABASE?host=SOCKET_DIRECTORY&user=ROLE (default: $RENKEI_STORE).", valueName: "URL"))
    var store: String?

    func run() async throws {
        let (text, argument): (String, String)
        if let store { (text, argument) = (store, "--store") }
        else if let environment = ProcessInfo.processInfo.environment["RENKEI_STORE"], !environment.isEmpty { (text, argument) = (environment, "RENKEI_STORE") }
        else { throw Failure(.usage, "store migrate: name the database with --store postgresql:///renkei?host=/run/postgresql&user=renkei (or RENKEI_STORE)") }
        let location: StoreLocation
        do {
            location = try StoreLocation.parse(text, argument: argument)
        } catch {
            throw Failure(.usage, "store migrate: \(error)")
        }
        guard case .postgresql(let address) = location else {
            throw Failure(.usage, "store migrate: \(argument) '\(text)' is a SQLite store, which renkeid and renkeictl upgrade when they open it; migrate is for PostgreSQL")
        }
        do {
            let outcome = try await PostgresSession.with(address, applicationName: "renkeictl store migrate") { session in
                try await SchemaMigrator.migrate(session)
            }
            print("\(address): \(outcome)")
        } catch let problem as PostgresProblem {
            switch problem.kind {
            case .unreachable, .connectionLost: throw Failure(.daemonUnreachable, "store migrate: \(problem)")
            case .refused: throw Failure(.permissionDenied, "store migrate: \(problem)")
            case .server: throw Failure(.runDidNotSucceed, "store migrate: \(problem); the database stays at the version it had")
            }
        }
    }
}
