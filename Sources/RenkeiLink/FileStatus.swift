import Glibc

/// What `stat` says about a file, reduced to what link steps decide on: which file it is (device
/// and inode, so a renamed or replaced file is told apart from the one seen before), how big, and
/// when it last changed (to the nanosecond, so "unchanged" means unchanged).
struct FileStatus: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int
    var mode: UInt32

    init(_ raw: stat) {
        device = UInt64(raw.st_dev)
        inode = UInt64(raw.st_ino)
        size = Int64(raw.st_size)
        modifiedSeconds = raw.st_mtim.tv_sec
        modifiedNanoseconds = raw.st_mtim.tv_nsec
        mode = raw.st_mode
    }

    /// Seconds since the epoch.
    var modifiedAt: Double { Double(modifiedSeconds) + Double(modifiedNanoseconds) / 1e9 }
    var isRegularFile: Bool { mode & S_IFMT == S_IFREG }
    var isDirectory: Bool { mode & S_IFMT == S_IFDIR }

    func isSameFile(as other: FileStatus) -> Bool { device == other.device && inode == other.inode }
    /// Same file, same size, same modification time: nobody wrote it in between (as far as the
    /// file system's clock can tell).
    func isUnchanged(since other: FileStatus) -> Bool {
        isSameFile(as: other) && size == other.size && modifiedSeconds == other.modifiedSeconds && modifiedNanoseconds == other.modifiedNanoseconds
    }
}
