import Foundation
import RenkeiCore

/// Which store renkeid and renkeictl use: `--store`, else a non-empty `RENKEI_STORE`, else
/// `store:` in renkei.yaml; none of them: the SQLite store of the state directory.
public enum StoreChoice {
    /// The chosen store and where it was named (`--store`, `RENKEI_STORE`, `renkei.yaml`).
    public struct Named: Sendable, Equatable {
        public var location: StoreLocation
        public var argument: String
    }

    /// nil: none names a store. Throws a `StoreLocationProblem` for a bad `--store` or
    /// `RENKEI_STORE`, naming it. A renkei.yaml that cannot be read or parsed names no store
    /// here, unless it has a `store:` line: then renkeid must not start on the wrong store,
    /// and the configuration's own problems are thrown.
    public static func named(flag: String?, configPath: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Named? {
        if let flag { return Named(location: try StoreLocation.parse(flag, argument: "--store"), argument: "--store") }
        if let text = environment["RENKEI_STORE"], !text.isEmpty {
            return Named(location: try StoreLocation.parse(text, argument: "RENKEI_STORE"), argument: "RENKEI_STORE")
        }
        switch SiteConfigurationFile.load(configPath) {
        case .success(let configuration):
            return configuration.store.map { Named(location: $0, argument: "store: in \(configPath)") }
        case .failure(let failure):
            let text = (try? String(contentsOfFile: configPath, encoding: .utf8)) ?? ""
            guard text.split(separator: "\n").contains(where: { $0.hasPrefix("store:") }) else { return nil }
            throw StoreChoiceProblem(description: "\(configPath) names a store but cannot be read: \(failure); fix it (renkeictl check) or give --store")
        }
    }
}

/// A renkei.yaml whose `store:` line cannot be trusted.
public struct StoreChoiceProblem: Error, CustomStringConvertible {
    public var description: String
}
