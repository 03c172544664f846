import Glibc

extension OpenWriters {
    /// Which file, by device and inode.
    struct FileKey: Hashable {
        var device: UInt64
        var inode: UInt64

        init(_ status: FileStatus) {
            device = status.device
            inode = status.inode
        }
    }

    /// The writers of each of `files`, found in one walk through /proc instead of one per file:
    /// a burst of a thousand files costs one walk, not a thousand. Files nobody writes are absent.
    static func of(_ files: [FileStatus]) -> [FileKey: [Writer]] {
        let wanted = Set(files.map(FileKey.init))
        guard !wanted.isEmpty, let entries = try? FileSystem.names(in: "/proc") else { return [:] }
        let me = getpid()
        var writers: [FileKey: [Writer]] = [:]
        for entry in entries {
            guard let pid = Int32(entry), pid != me else { continue }
            let descriptors = "/proc/\(pid)/fd"
            guard let names = try? FileSystem.names(in: descriptors) else { continue }
            var seen: Set<FileKey> = []
            for name in names {
                var raw = stat()
                guard stat(descriptors + "/" + name, &raw) == 0 else { continue }
                let key = FileKey(FileStatus(raw))
                guard wanted.contains(key), !seen.contains(key), isOpenForWriting(pid: pid, descriptor: name) else { continue }
                seen.insert(key)
                writers[key, default: []].append(Writer(pid: pid, command: command(of: pid)))
            }
        }
        return writers
    }
}
