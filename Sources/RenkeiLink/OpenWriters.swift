import Glibc

/// The processes that have a file open for writing, found the way `fuser` does: every
/// `/proc/PID/fd/N` whose target is the file (same device and inode — names can lie, a file may
/// be open under a name it no longer has) and whose `/proc/PID/fdinfo/N` flags say O_WRONLY or
/// O_RDWR.
///
/// Only processes visible to this one are seen: all of them as root, otherwise those of the same
/// user. A writer on another machine (an NFS client, an SMB share) is never seen: such senders
/// should write a done file (`complete_when: done_file`).
enum OpenWriters {
    struct Writer: Equatable, Sendable {
        var pid: Int32
        /// Its `comm`, for the operator: "juki-export".
        var command: String
    }

    static func of(_ file: FileStatus) -> [Writer] {
        guard let entries = try? FileSystem.names(in: "/proc") else { return [] }
        let me = getpid()
        var writers: [Writer] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != me else { continue }
            let descriptors = "/proc/\(pid)/fd"
            // A process may end, or hide its descriptors from us, at any moment: skip it then.
            guard let names = try? FileSystem.names(in: descriptors) else { continue }
            for name in names {
                var raw = stat()
                guard stat(descriptors + "/" + name, &raw) == 0 else { continue }
                let target = FileStatus(raw)
                guard target.isSameFile(as: file), isOpenForWriting(pid: pid, descriptor: name) else { continue }
                writers.append(Writer(pid: pid, command: command(of: pid)))
                break
            }
        }
        return writers
    }

    /// Whether `/proc/PID/fdinfo/FD` shows the descriptor opened for writing. Its `flags:` line is octal.
    static func isOpenForWriting(pid: Int32, descriptor: String) -> Bool {
        guard let info = smallFile("/proc/\(pid)/fdinfo/\(descriptor)") else { return false }
        for line in info.split(separator: "\n") where line.hasPrefix("flags:") {
            let digits = line.dropFirst("flags:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            guard let flags = Int32(digits, radix: 8) else { return false }
            let access = flags & O_ACCMODE
            return access == O_WRONLY || access == O_RDWR
        }
        return false
    }

    static func command(of pid: Int32) -> String {
        smallFile("/proc/\(pid)/comm").map { String($0.prefix { $0 != "\n" }) } ?? "?"
    }

    /// A /proc file's text (they report size 0, so read until the end).
    private static func smallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
