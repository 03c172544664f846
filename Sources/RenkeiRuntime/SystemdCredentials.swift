import Foundation
import RenkeiCore

/// systemd credentials (`LoadCredential=NAME:PATH` in renkeid's unit): systemd copies each into
/// a private directory only the service can read and names it in `$CREDENTIALS_DIRECTORY`, so a
/// password never sits in a job file or in the unit's environment.
public enum SystemdCredentials {
    public static let directoryVariable = "CREDENTIALS_DIRECTORY"

    /// Reads `${credential:NAME}` from `$CREDENTIALS_DIRECTORY/NAME` of `environment` (the
    /// daemon's own). One trailing newline is dropped: a file written with `echo` has one, and
    /// no password ends with it.
    public static func reader(environment: [String: String]) -> VariableExpansion.CredentialReader {
        let directory = environment[directoryVariable].flatMap { $0.isEmpty ? nil : $0 }
        return { name in
            guard let directory else {
                return .failure(.init("$\(directoryVariable) is not set, so no credential was passed to this process: add LoadCredential=\(name):/path/to/file to renkeid's unit (systemctl edit renkeid), or for run --local run it under systemd-run -p LoadCredential=\(name):/path/to/file"))
            }
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                let reason = FileManager.default.fileExists(atPath: path) ? "it cannot be read" : "it does not exist"
                return .failure(.init("\(path) in $\(directoryVariable): \(reason); add LoadCredential=\(name):/path/to/file to renkeid's unit (systemctl edit renkeid)"))
            }
            guard var value = String(data: data, encoding: .utf8) else {
                return .failure(.init("\(path) in $\(directoryVariable) is not UTF-8 text"))
            }
            if value.hasSuffix("\n") { value.removeLast() }
            return .success(value)
        }
    }
}
