import Foundation
import RenkeiCore

/// One run of a job at a time, across processes: an exclusive `flock` on `STATE/locks/JOB.lock`.
/// The kernel drops the lock when the holder exits, however it exits, so a crash never leaves a
/// job locked. The holder's pid is written into the file for the message a second caller sees.
public final class RunLock: Sendable {
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    public struct Busy: Error, CustomStringConvertible {
        public let job: JobName
        public let path: String
        public let holder: String?

        public var description: String {
            let who = holder.map { " by pid \($0)" } ?? ""
            return "\(job) is already running (lock \(path) held\(who)); wait for that run to end (renkeictl history \(job)) and try again"
        }
    }

    /// Takes the lock without waiting, or throws `Busy`.
    public static func acquire(job: JobName, state: StateDirectory) throws -> RunLock {
        let path = state.lockFile(for: job)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw StateError.cannotCreate(path, String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw Busy(job: job, path: path, holder: holder?.isEmpty == false ? holder : nil)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return RunLock(path: path, descriptor: descriptor)
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
