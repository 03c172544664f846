import Glibc

/// The few path-level system calls link steps make, each reporting failure as a `SystemError`
/// that names the path.
enum FileSystem {
    /// Runs a system call again when a signal interrupted it.
    static func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }

    /// `stat` of a path (a symbolic link is followed: a sender may link its file into the directory).
    static func status(of path: String) throws(SystemError) -> FileStatus {
        var raw = stat()
        guard stat(path, &raw) == 0 else { throw .last("look at", path) }
        return FileStatus(raw)
    }

    /// `lstat`: the name itself, whatever it is.
    static func statusOfName(_ path: String) throws(SystemError) -> FileStatus {
        var raw = stat()
        guard lstat(path, &raw) == 0 else { throw .last("look at", path) }
        return FileStatus(raw)
    }

    /// Whether something of that name exists (a dangling symbolic link counts).
    static func exists(_ path: String) -> Bool {
        var raw = stat()
        return lstat(path, &raw) == 0
    }

    /// The names in a directory, without `.` and `..`.
    static func names(in directory: String) throws(SystemError) -> [String] {
        guard let stream = opendir(directory) else { throw .last("read the directory", directory) }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw .last("read the directory", directory) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// Makes a directory's entries (a new name, a removed one) durable: without it a crash can
    /// undo a rename that `fsync` of the file alone does not cover.
    static func syncDirectory(_ path: String) throws(SystemError) {
        let directory = try OpenFile.open(path, O_RDONLY | O_DIRECTORY)
        guard retrying({ fsync(directory.descriptor) }) == 0 else {
            // Some file systems cannot sync a directory; their renames are as durable as they get.
            if errno == EINVAL || errno == EBADF { return }
            throw .last("flush to disk the directory", path)
        }
    }

    static func rename(_ from: String, to: String) throws(SystemError) {
        guard Glibc.rename(from, to) == 0 else { throw SystemError(code: errno, action: "rename \(from) to", path: to) }
    }

    /// A second name for a file; fails with EEXIST rather than replace anything.
    static func link(_ existing: String, to newName: String) throws(SystemError) {
        guard Glibc.link(existing, newName) == 0 else { throw SystemError(code: errno, action: "link \(existing) as", path: newName) }
    }

    static func remove(_ path: String) throws(SystemError) {
        guard unlink(path) == 0 else { throw .last("remove", path) }
    }

    /// Creates the directory unless it is there already (as a directory).
    static func makeDirectory(_ path: String, mode: mode_t) throws(SystemError) {
        if mkdir(path, mode) == 0 { return }
        let code = errno
        if code == EEXIST, (try? status(of: path))?.isDirectory == true { return }
        throw SystemError(code: code, action: "create the directory", path: path)
    }

    /// `a/b` from a directory and a name.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
