import Foundation
import RenkeiRuntime

/// One renkeid per state directory: two daemons on the same store would run every slot twice.
/// An exclusive `flock` on `STATE/locks/renkeid.lock`, held for the daemon's life.
final class DaemonLock {
    private let descriptor: Int32

    struct Held: Error, CustomStringConvertible {
        let path: String
        let holder: String
        var description: String {
            "another renkeid (pid \(holder)) already uses this state directory (lock \(path)); stop it first (systemctl stop renkeid)"
        }
    }

    init(state: StateDirectory) throws {
        let path = state.locks + "/renkeid.lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw StateError.cannotCreate(path, String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(descriptor)
            throw Held(path: path, holder: holder.isEmpty ? "?" : holder)
        }
        _ = ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit { close(descriptor) }
}
