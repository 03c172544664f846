import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime

/// `renkeictl store …`: the store itself rather than what is in it.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Create or upgrade the run store's schema (PostgreSQL), or copy a SQLite history into it.",
        subcommands: [StoreMigrate.self, StoreCopyCommand.self]
    )
}

struct StoreMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create Renkei's tables in a PostgreSQL database, or upgrade them to this version.",
        discussion: """
            Run it as the role that is to own Renkei's tables. Nodes log in as other roles, \
            given a node's rights with --node-role (rows of every table, the audit read and append \
            only, no ownership); every migrate renews the rights of the roles that had them, so \
            tables of a newer version are theirs too. Safe to run again: it says "already at \
            version N" and changes nothing else. \
            All pending steps are applied in one transaction, so a failure leaves the database as it was. \
            A SQLite store needs no migrate: renkeid and renkeictl upgrade it when they open it. \
            See docs/postgresql.md.

            Example:
              renkeictl store migrate --store "postgresql:///renkei?host=/run/postgresql&user=renkei" \\
                --node-role renkei_node
            """
    )

    @Option(name: .long, help: ArgumentHelp("The store: postgresql:///DATABASE?host=SOCKET_DIRECTORY&user=ROLE (default: $RENKEI_STORE).", valueName: "URL"))
    var store: String?

    @Option(name: .customLong("node-role"), help: ArgumentHelp("A role renkeid nodes log in as, to be given a node's rights (repeatable).", valueName: "ROLE"))
    var nodeRoles: [String] = []

    func run() async throws {
        guard let (text, argument) = PostgresStoreChoice.named(store: store) else {
            throw Failure(.usage, "store migrate: name the database with --store postgresql:///renkei?host=/run/postgresql&user=renkei (or RENKEI_STORE)")
        }
        let location: StoreLocation
        do {
            location = try StoreLocation.parse(text, argument: argument)
        } catch {
            throw Failure(.usage, "store migrate: \(error)")
        }
        guard case .postgresql(let address) = location else {
            throw Failure(.usage, "store migrate: \(argument) '\(text)' is a SQLite store, which renkeid and renkeictl upgrade when they open it; migrate is for PostgreSQL")
        }
        for role in nodeRoles {
            if let problem = NodeRoleGrants.problem(with: role) { throw Failure(.usage, "store migrate: --node-role \(problem)") }
        }
        do {
            let (outcome, granted) = try await PostgresSession.with(address, applicationName: "renkeictl store migrate", answerTimeout: .seconds(660)) { session in
                (try await SchemaMigrator.migrate(session), try await NodeRoleGrants.grant(nodeRoles, session))
            }
            print("\(address): \(outcome)")
            for grant in granted {
                print("\(address): \(grant)")
                if let warning = grant.warning { FileHandle.standardError.write(Data("renkeictl: warning: \(warning)\n".utf8)) }
            }
        } catch let problem as NodeRoleProblem {
            throw Failure(.usage, "store migrate: \(problem) (the schema itself was migrated)")
        } catch let problem as PostgresProblem {
            switch problem.kind {
            case .unreachable, .connectionLost: throw Failure(.daemonUnreachable, "store migrate: \(problem)")
            case .refused: throw Failure(.permissionDenied, "store migrate: \(problem)")
            case .server: throw Failure(.runDidNotSucceed, "store migrate: \(problem); the database stays at the version it had")
            }
        }
    }
}

struct StoreCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a SQLite store's whole history into an empty PostgreSQL store, audit chain included.",
        discussion: """
            Stop renkeid first. The SQLite store is read, never written; its audit chain must verify. \
            The target must be migrated (renkeictl store migrate) and hold no history: a copy never \
            merges two. Every row goes over in one transaction with its id, and is read back and \
            compared column by column before COMMIT; the audit chain is verified again from \
            PostgreSQL's rows. Anything that does not match rolls the copy back: the target stays \
            empty. The slot ledger (slot, job_cursor) is seeded from the scheduled runs. \
            See docs/postgresql.md.

            Example:
              renkeictl store copy --from sqlite:/var/lib/renkei/renkei.db \\
                --to "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    @Option(name: .long, help: ArgumentHelp("The SQLite store to copy: sqlite:PATH.", valueName: "URL"))
    var from: String

    @Option(name: .long, help: ArgumentHelp("The PostgreSQL store to fill: postgresql:///DATABASE?host=SOCKET_DIRECTORY&user=ROLE.", valueName: "URL"))
    var to: String

    @Option(help: ArgumentHelp("The audit key, to check keyed (HMAC) rows' contents too (default: the renkei-audit-key credential, else $RENKEI_AUDIT_KEY_FILE).", valueName: "FILE"))
    var keyFile: String?

    func run() async throws {
        let source: String, target: PostgresAddress
        do {
            guard case .sqlite(let path) = try StoreLocation.parse(from, argument: "--from") else {
                throw Failure(.usage, "store copy: --from '\(from)' is not a SQLite store: copy from sqlite:PATH (renkeid's store, e.g. sqlite:/var/lib/renkei/renkei.db)")
            }
            guard case .postgresql(let address) = try StoreLocation.parse(to, argument: "--to") else {
                throw Failure(.usage, "store copy: --to '\(to)' is not a PostgreSQL store: copy to postgresql:///DATABASE?host=SOCKET_DIRECTORY&user=ROLE")
            }
            (source, target) = (path, address)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(.usage, "store copy: \(error)")
        }
        let key: [UInt8]?
        do {
            key = try keyFile.map { try AuditKey.read($0, how: "--key-file") } ?? AuditKey.load(environment: ProcessInfo.processInfo.environment)
        } catch { throw Failure(.usage, "store copy: \(error)") }
        let report: StoreCopyReport
        do {
            report = try await StoreCopy.copy(from: source, to: target, key: key)
        } catch let problem as StoreCopyProblem {
            switch problem.kind {
            case .sourceMissing: throw Failure(.usage, "store copy: --from: \(problem)")
            case .sourcePermission: throw Failure(.permissionDenied, "store copy: \(problem)")
            case .source, .target, .notVerified: throw Failure(.runDidNotSucceed, "store copy: \(problem)")
            }
        } catch let problem as PostgresProblem {
            switch problem.kind {
            case .unreachable, .connectionLost: throw Failure(.daemonUnreachable, "store copy: \(problem); nothing was copied")
            case .refused: throw Failure(.permissionDenied, "store copy: \(problem); nothing was copied")
            case .server: throw Failure(.runDidNotSucceed, "store copy: \(problem); the copy was rolled back, the target stays empty")
            }
        }
        print(Self.summary(report))
    }

    static func summary(_ report: StoreCopyReport) -> String {
        var rows = [["TABLE", "SQLITE", "POSTGRESQL"]]
        for table in report.tables { rows.append([table.name, String(table.source), String(table.target)]) }
        func head(_ head: AuditHead?) -> String { head.map { "row \($0.seq), hash \($0.hash)" } ?? "no rows" }
        var lines = ["copied \(report.source) to \(report.target):", Table.render(rows),
                     "audit head in SQLite:     \(head(report.sourceHead))",
                     "audit head in PostgreSQL: \(head(report.targetHead))",
                     "slot ledger seeded: \(report.slots) slot(s) from the scheduled runs"]
        for note in report.notes { lines.append("note: \(note)") }
        lines.append("verified: every row read back matches, and the audit chain verifies in PostgreSQL")
        return lines.joined(separator: "\n")
    }
}
