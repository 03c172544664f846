import Foundation
import GRDB
import GRDBSQLite

/// The database file a store has open, told apart from whatever its path names later: an operator
/// who deletes `renkei.db` or moves another database over it leaves the open file behind, and
/// every write after that would go where nobody will read it (and vanish at the next start).
///
/// The identity is taken once, at open, from the path, and SQLite's own view of the open file
/// confirms it (`SQLITE_FCNTL_HAS_MOVED` compares the path with `fstat` of its descriptor). Each
/// check after that is one `stat` of the path: cheap beside the commit it guards.
///
/// The file is never opened again here: closing any descriptor of a database file drops every
/// POSIX lock this process holds on it, SQLite's included.
struct OpenedFile: Sendable {
    /// The path the store was opened with.
    let path: String
    /// Device and inode of the file SQLite has open.
    let device: UInt64
    let inode: UInt64

    /// What the path names now, compared with the open file.
    enum Check: Equatable {
        case same
        case replaced(byInode: UInt64)
        case deleted
        /// `stat` itself failed (EIO, ESTALE): nothing can be said of the file, nor written safely.
        case unreadable(Int32)
    }

    /// The identity of the file `db`'s main database is, or nil if the path no longer names it.
    static func of(_ db: Database, path: String) -> OpenedFile? {
        // Absolute, so that a later change of the working directory changes nothing.
        let path = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        var moved: Int32 = 0
        guard sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK, moved == 0 else { return nil }
        return OpenedFile(path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    func check() -> Check {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            return code == ENOENT || code == ENOTDIR ? .deleted : .unreadable(code)
        }
        if UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode { return .same }
        return .replaced(byInode: UInt64(info.st_ino))
    }

    /// The failure to report for a check that is not `.same`.
    func failure(_ check: Check) -> StoreFailure? {
        switch check {
        case .same:
            return nil
        case .replaced(let other):
            return StoreFailure(.replaced, path: path, detail: "it was inode \(inode), the path now names inode \(other)")
        case .deleted:
            return StoreFailure(.deleted, path: path, detail: "the path names no file; the open file was inode \(inode)")
        case .unreadable(let code):
            return StoreFailure(.ioError, path: path, detail: "cannot tell which file the path names: \(Errno.describe(code))")
        }
    }
}
