import Foundation

/// Whether this user can read a store, and why not, found with `stat` and `access` alone: never
/// an `open`, since closing a descriptor of the database, its `-wal` or its `-shm` drops the
/// POSIX locks every SQLite connection of this process holds on it.
enum ReadAccess {
    /// Why `path` cannot be read by this user, or nil when SQLite may try.
    static func problem(reading path: String) -> RunStore.OpenError? {
        var status = stat()
        if stat(path, &status) == 0 {
            guard access(path, R_OK) != 0, errno == EACCES else { return nil }
            return .permissionDenied(path, denial(path, status, reading: true))
        }
        let code = errno
        if code == ENOENT || code == ENOTDIR { return .noDatabase(path) }
        if code == EACCES, let (directory, status) = firstClosedDirectory(above: path) {
            return .permissionDenied(path, denial(directory, status, reading: false))
        }
        return .cannotOpen(path, String(cString: strerror(code)))
    }

    /// "/var/lib/renkei (mode 0750, owner renkei, group renkei) cannot be entered by bob: …"
    static func denial(_ path: String, _ status: stat, reading: Bool) -> String {
        let user = name(ofUser: getuid())
        let owner = name(ofUser: status.st_uid)
        let group = getgrgid(status.st_gid).map { String(cString: $0.pointee.gr_name) } ?? "gid \(status.st_gid)"
        let mode = String(status.st_mode & 0o7777, radix: 8)
        let what = "\(path) (mode 0\(mode), owner \(owner), group \(group)) cannot be \(reading ? "read" : "entered") by \(user)"
        let groupMay = status.st_mode & (reading ? S_IRGRP : S_IXGRP) != 0
        guard groupMay else { return "\(what); only \(owner) may: run the command as \(owner) or root (sudo)" }
        return "\(what), who is not in its group \(group); ask an administrator to add you (usermod -aG \(group) \(user)) and log in again, or run the command with sudo"
    }

    /// The first directory on the way to `path` this user may not enter, with its status.
    static func firstClosedDirectory(above path: String) -> (String, stat)? {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var directory = ""
        for component in absolute.split(separator: "/").dropLast() {
            directory += "/" + component
            var status = stat()
            if access(directory, X_OK) != 0, errno == EACCES, stat(directory, &status) == 0 { return (directory, status) }
        }
        return nil
    }

    /// Whether SQLite's WAL reader cannot have the `-shm` it needs: it is missing and the
    /// directory cannot be written (a read-only mount, a directory of someone else's), or it is
    /// there and cannot be written.
    static func cannotMakeSharedMemory(for path: String) -> Bool {
        let sharedMemory = path + "-shm"
        var status = stat()
        if stat(sharedMemory, &status) == 0 { return access(sharedMemory, W_OK) != 0 }
        return access((path as NSString).deletingLastPathComponent, W_OK) != 0
    }

    /// What a view read `immutable` may lack: the writes still in a `-wal` it did not read.
    static func immutableNote(for path: String) -> String? {
        var status = stat()
        guard stat(path + "-wal", &status) == 0, status.st_size > 0 else { return nil }
        let directory = (path as NSString).deletingLastPathComponent
        return "\(directory) cannot be written (read-only?), so \(path)-wal (\(status.st_size) bytes) could not be read: "
            + "the newest runs may be missing or out of date here; for the whole store read it where it is written (on the machine renkeid runs on)"
    }

    /// Characters a path may keep in a `file:` URI (SQLite's own: `?`, `#` and `%` are encoded).
    static let uriPathCharacters: CharacterSet = {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        return allowed
    }()

    static func name(ofUser uid: uid_t) -> String {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
    }
}
