import Foundation
import RenkeiCore

/// Finds the file a step's `arguments[0]` names, so that "cannot start" can say exactly which path
/// was tried and why, before anything is spawned.
public enum ProgramLocator {
    /// An absolute path, a path relative to `programDirectory` (it holds a `/`), or a name looked
    /// up in the run's `PATH`.
    public static func locate(_ program: String, programDirectory: String, path: String?) -> Result<String, SpawnFailure> {
        if program.hasPrefix("/") { return check(program) }
        if program.contains("/") {
            return check(URL(fileURLWithPath: programDirectory).appendingPathComponent(program).standardizedFileURL.path)
        }
        let directories = (path ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        for directory in directories {
            let candidate = directory + "/" + program
            if case .success(let found) = check(candidate) { return .success(found) }
        }
        return .failure(SpawnFailure("'\(program)' was not found in PATH (\(path ?? "unset")): give its absolute path in 'run', or set PATH under 'environment:'"))
    }

    private static func check(_ path: String) -> Result<String, SpawnFailure> {
        var status = stat()
        guard stat(path, &status) == 0 else {
            return .failure(SpawnFailure("\(path): \(String(cString: strerror(errno)))"))
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            return .failure(SpawnFailure("\(path) is a directory, not a program"))
        }
        guard access(path, X_OK) == 0 else {
            return .failure(SpawnFailure("\(path) is not executable (\(String(cString: strerror(errno)))): chmod +x it, or run it through its interpreter"))
        }
        return .success(path)
    }
}

public struct SpawnFailure: Error {
    public let message: String
    init(_ message: String) { self.message = message }
}
