import Glibc

/// An open file descriptor that closes itself when dropped, so no error path leaks one — and,
/// for the descriptors that hold a delivery's lock, so the lock ends exactly when the file is
/// let go of.
final class OpenFile {
    let descriptor: Int32
    /// The path it was opened by, for messages.
    let path: String
    private var isOpen = true

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close() }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, at directory: Int32 = AT_FDCWD) throws(SystemError) -> OpenFile {
        let descriptor = FileSystem.retrying { openat(directory, path, flags | O_CLOEXEC, mode) }
        guard descriptor >= 0 else { throw .last("open", path) }
        return OpenFile(descriptor: descriptor, path: path)
    }

    func status() throws(SystemError) -> FileStatus {
        var raw = stat()
        guard fstat(descriptor, &raw) == 0 else { throw .last("look at", path) }
        return FileStatus(raw)
    }

    /// Data and metadata on the disk, or the error that says they are not.
    func sync() throws(SystemError) {
        guard FileSystem.retrying({ fsync(descriptor) }) == 0 else { throw .last("flush to disk", path) }
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        // Not retried on EINTR: on Linux the descriptor is gone either way.
        _ = Glibc.close(descriptor)
    }
}
