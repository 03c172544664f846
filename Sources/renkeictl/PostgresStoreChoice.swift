import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime

/// Which store a command reading the database directly (`status`, `report`, `history`, `show`, `audit`) hands over to:
/// the PostgreSQL store that `--store` or `RENKEI_STORE` names, and the exit codes its
/// problems end with. nil from `address` keeps the SQLite behaviour (`sqlite:` or no store).
enum PostgresStoreChoice {
    /// The PostgreSQL store named by `--store`, else by `RENKEI_STORE`; nil when neither names
    /// one. A bad URL is a usage error naming the argument, prefixed by `command`.
    static func address(store: String?, command: String) throws -> PostgresAddress? {
        guard let (text, argument) = named(store: store) else { return nil }
        do {
            guard case .postgresql(let address) = try StoreLocation.parse(text, argument: argument) else { return nil }
            return address
        } catch {
            throw Failure(.usage, "\(command): \(error)")
        }
    }

    /// The store's text and the argument it came from: `--store`, else a non-empty
    /// `RENKEI_STORE`, else `store:` in renkei.yaml (when this user can read it); nil when none names one.
    static func named(store: String?) -> (text: String, argument: String)? {
        if let store { return (store, "--store") }
        if let environment = ProcessInfo.processInfo.environment["RENKEI_STORE"], !environment.isEmpty { return (environment, "RENKEI_STORE") }
        let path = SiteConfigurationFile.path()
        if let named = try? StoreChoice.named(flag: nil, configPath: path, environment: [:]) { return (named.location.description, named.argument) }
        return nil
    }

    /// Exit 3 when the database cannot be reached, 4 when the role is refused or lacks a
    /// privilege, 1 for another server error (a database without Renkei's tables says to migrate).
    static func failure(_ problem: PostgresProblem, command: String, address: PostgresAddress) -> Failure {
        switch problem.kind {
        case .unreachable, .connectionLost: return Failure(.daemonUnreachable, "\(command): \(problem)")
        case .refused: return Failure(.permissionDenied, "\(command): \(problem)")
        case .server where problem.sqlState == "42P01" || problem.sqlState == "42703":
            return Failure(.runDidNotSucceed, "\(command): \(problem); the database has no Renkei tables of this version: run renkeictl store migrate --store '\(address)' as the role that owns them")
        case .server: return Failure(.runDidNotSucceed, "\(command): \(problem)")
        }
    }
}
