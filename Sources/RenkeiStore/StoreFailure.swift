import Foundation
import GRDB
import GRDBSQLite

/// The run store could not be written, for a reason outside the write itself: the disk or the
/// database went wrong. A value, so that the daemon can stop starting runs, say so in its status
/// and retry (`RunStore.probe`), rather than crash or hang.
///
/// A write's own failure — a run that cannot end twice, a missing run — is not one of these: it
/// is thrown as itself, and the store stays writable.
public struct StoreFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// No space left on the file system (ENOSPC, SQLITE_FULL).
        case noSpace = "no_space"
        /// The disk quota of the file's owner is used up (EDQUOT).
        case quota
        /// The disk answered with an I/O error (EIO, SQLITE_IOERR).
        case ioError = "io_error"
        /// The file system is read-only, or the file or its directory cannot be written
        /// (EROFS, EACCES, SQLITE_READONLY).
        case readOnly = "read_only"
        /// Another process has held the database's write lock past the busy timeout (SQLITE_BUSY).
        case locked
        /// The file is damaged or is not a database (SQLITE_CORRUPT, SQLITE_NOTADB).
        case corrupt
        /// The path now names another file than the one this process opened.
        case replaced
        /// The path names no file any more: the open file was deleted or moved away.
        case deleted
    }

    public let kind: Kind
    /// The database file.
    public let path: String
    /// What SQLite or the system said, for the log (`disk I/O error (EIO: Input/output error)`).
    public let detail: String

    public init(_ kind: Kind, path: String, detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    /// True when this process must not write the store again: the file it has open is not the
    /// one at the path. Restarting opens the file that is there now. The other kinds pass once
    /// the disk or the operator fixes their cause; the next write then succeeds.
    public var needsRestart: Bool { kind == .replaced || kind == .deleted }

    /// The state directory, where the operator looks.
    var directory: String { (path as NSString).deletingLastPathComponent }

    /// What is wrong, in the operator's words.
    public var problem: String {
        switch kind {
        case .noSpace: "no space left on its file system"
        case .quota: "the disk quota of the user that writes it is used up"
        case .ioError: "the disk answered with an I/O error"
        case .readOnly: "its file system is read-only or the file cannot be written"
        case .locked: "another process holds its write lock"
        case .corrupt: "the file is damaged"
        case .replaced: "another file has been put at its path since it was opened"
        case .deleted: "the file was deleted or moved away since it was opened"
        }
    }

    /// What the operator should do next, with the command that shows the cause.
    public var remedy: String {
        switch kind {
        case .noSpace:
            "free space there (df -h \(directory)) — writing resumes once there is room"
        case .quota:
            "raise the quota or free space (quota -v -u \(geteuid())) — writing resumes once there is room"
        case .ioError:
            "check the disk (journalctl -k, findmnt -T \(directory)) and repair or replace it — writing resumes once the disk answers"
        case .readOnly:
            "make it writable again (findmnt -T \(directory); ls -ld \(directory) \(path)); a file system the kernel made read-only after disk errors needs fsck and a remount — writing resumes once it can be written"
        case .locked:
            "find the process holding it (fuser -v \(path)) and let it finish or stop it — writing resumes once the lock is free"
        case .corrupt:
            "check it (sqlite3 \(path) 'PRAGMA integrity_check') and restore it from a backup"
        case .replaced:
            "nothing more is written to the file this process has open, which nobody would read; restart to use the file now at the path (systemctl restart renkeid)"
        case .deleted:
            "nothing more is written to the file this process has open, which nobody would read; put the file back and restart (systemctl restart renkeid) — a restart without it starts a new, empty store"
        }
    }

    public var description: String {
        "the run store \(path) cannot be written: \(problem) (\(detail)); \(remedy)"
    }
}

extension StoreFailure {
    /// The failure `error` stands for, if it is a failure of the store rather than of the write;
    /// `systemErrno` is what the system said to SQLite (`sqlite3_system_errno`), trusted only for
    /// the result codes that set it (I/O errors, files that cannot be opened).
    static func classifying(_ error: any Error, systemErrno: Int32, path: String) -> StoreFailure? {
        if let failure = error as? StoreFailure { return failure }
        guard let error = error as? DatabaseError else { return nil }
        let said = error.message ?? "\(error.resultCode)"
        let setsErrno = error.resultCode == .SQLITE_IOERR || error.resultCode == .SQLITE_CANTOPEN
        let errno = setsErrno ? systemErrno : 0
        let detail = errno == 0 ? "\(said), \(error.extendedResultCode)" : "\(said), \(error.extendedResultCode), \(Errno.describe(errno))"
        let kind: Kind
        switch error.resultCode {
        case .SQLITE_FULL:
            kind = .noSpace
        case .SQLITE_IOERR, .SQLITE_CANTOPEN:
            switch errno {
            case ENOSPC: kind = .noSpace
            case EDQUOT: kind = .quota
            case EROFS, EACCES, EPERM: kind = .readOnly
            default: kind = fileSystemIsReadOnly(path) ? .readOnly : .ioError
            }
        case .SQLITE_READONLY, .SQLITE_PERM:
            kind = .readOnly
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            kind = .locked
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            kind = .corrupt
        default:
            return nil
        }
        return StoreFailure(kind, path: path, detail: detail)
    }

    /// Whether the file system holding `path` is mounted read-only now (the kernel remounts one
    /// so after disk errors; the write that finds out may only have seen EIO).
    static func fileSystemIsReadOnly(_ path: String) -> Bool {
        var info = statvfs()
        guard statvfs((path as NSString).deletingLastPathComponent, &info) == 0 else { return false }
        return info.f_flag & UInt(ST_RDONLY) != 0
    }
}

/// `errno` values as an operator reads them in a log: the name, then what it means.
enum Errno {
    static func describe(_ code: Int32) -> String {
        let names: [Int32: String] = [
            ENOSPC: "ENOSPC", EDQUOT: "EDQUOT", EIO: "EIO", EROFS: "EROFS", EACCES: "EACCES", EPERM: "EPERM",
            ENOENT: "ENOENT", ENOTDIR: "ENOTDIR", ESTALE: "ESTALE", ENXIO: "ENXIO", ENODEV: "ENODEV",
        ]
        let text = String(cString: strerror(code))
        return names[code].map { "\($0): \(text)" } ?? "errno \(code): \(text)"
    }
}
