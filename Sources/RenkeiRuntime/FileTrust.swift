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

    static func userName(_ uid: uid_t) -> String? {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
