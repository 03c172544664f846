import Foundation
import RenkeiCore

/// Whoever can edit a job file can run commands as Renkei. So, like sshd's `StrictModes`, a job
/// file (and the directory holding it) must be owned by root or by the user Renkei runs as, and
/// must not be writable by group or others.
public struct FileTrust: Sendable {
    /// Owners besides root whose files are trusted: the user Renkei runs as.
    public let trustedOwner: uid_t

    public init(trustedOwner: uid_t = geteuid()) {
        self.trustedOwner = trustedOwner
    }

    /// Nil when `path` may be trusted, else what is wrong and the command that fixes it.
    public func problem(with path: String, isDirectory: Bool = false) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let what = isDirectory ? "the directory \(path)" : path
        if status.st_uid != 0 && status.st_uid != trustedOwner {
            let owner = Self.userName(status.st_uid) ?? String(status.st_uid)
            let fix = Self.userName(trustedOwner) ?? "root"
            return "refusing \(what): it is owned by \(owner), who could make Renkei run any command; only root or \(fix) may own job files (fix: chown \(fix) \(path))"
        }
        let writable = status.st_mode & (S_IWGRP | S_IWOTH)
        if writable != 0 {
            let by = writable & S_IWOTH != 0 ? (writable & S_IWGRP != 0 ? "group and others" : "others") : "its group"
            return "refusing \(what): it is writable by \(by), who could make Renkei run any command (fix: chmod go-w \(path))"
        }
        return nil
    }

    /// Nil when nothing from `/` down to `path`, nor on the way to any symlink's target, could be
    /// changed by a user Renkei does not trust; else the refusal of `subject`, naming the
    /// component and the command that fixes it (see `PathRules.configuration`).
    public func pathProblem(_ path: String, refusing subject: String, consequence: String) -> String? {
        let hazard = PathWalk(path).firstHazard(.configuration(trustedOwner: UInt32(trustedOwner)), trustedOwnerName: Self.userName(trustedOwner) ?? "root")
        return hazard?.message(refusing: subject, consequence: consequence)
    }

    /// What whoever could change a job file's path could do.
    public static let jobFileConsequence = "whoever can write there could put another job file in its place and make Renkei run any command"

    /// What a look at a trigger directory found: nothing wrong, something to mention, or a reason
    /// to refuse the job.
    public enum TriggerDirectoryFinding: Sendable, Equatable {
        case note(String)
        case problem(String)
    }

    /// A trigger directory is written by the sending system, so its owner and group are not
    /// checked; but a file dropped there starts the job with that file's data, so a directory
    /// that every user can write is refused unless it is sticky (then no user can replace or
    /// remove a file another user wrote). A directory that does not exist yet is only a note:
    /// the sending side may create it later.
    public func triggerDirectoryFinding(_ path: String) -> TriggerDirectoryFinding? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            if errno == ENOENT || errno == ENOTDIR {
                if let problem = Self.triggerPathProblem(path) { return .problem(problem) }
                return .note("trigger directory \(path) does not exist yet: no file can start the job until it does")
            }
            return .note("trigger directory \(path) cannot be looked at as \(Self.userName(geteuid()) ?? "uid \(geteuid())") (\(reason)): not checked")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            return .problem("trigger directory \(path) is not a directory: 'trigger.path' names the directory files arrive in")
        }
        if status.st_mode & S_IWOTH != 0 && status.st_mode & S_ISVTX == 0 {
            return .problem("refusing trigger directory \(path): every user can write in it, so anyone could drop a file there and start this job with data of their making (fix: chmod o-w \(path), or chmod +t \(path) so no one can replace or remove a file another user wrote)")
        }
        return Self.triggerPathProblem(path).map { .problem($0) }
    }

    /// The directories above a trigger directory, and on the way to any symlink's target, must
    /// not be writable by every user (unless sticky): whoever could would put a directory of
    /// their own in its place. Their owners are not checked: the path is the sending system's.
    static func triggerPathProblem(_ path: String) -> String? {
        let hazard = PathWalk(path).firstHazard(.othersMayNotWrite)
        return hazard?.message(refusing: "trigger directory \(path)",
                               consequence: "anyone could put a directory of their own there and start this job with data of their making")
    }

    /// Nil when the state directory at `path` is closed to others (or does not exist yet), else
    /// why it is refused and the command that fixes it. It holds run records, output tails and
    /// delivered files, which carry residents' personal data; the group is the operators'.
    public static func stateDirectoryProblem(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { return nil }
        let open = status.st_mode & (S_IROTH | S_IXOTH)
        guard open != 0 else { return nil }
        let what = open == S_IROTH | S_IXOTH ? "read and enter" : (open & S_IROTH != 0 ? "list" : "enter")
        let mode = String(status.st_mode & 0o7777, radix: 8)
        return "refusing the state directory \(path): every user can \(what) it (mode 0\(mode)), and it holds run records and output with residents' personal data (fix: chmod o-rwx \(path))"
    }

    static func userName(_ uid: uid_t) -> String? {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
