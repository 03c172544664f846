import Crypto
import Glibc

/// The SHA-256 of a file that was judged complete, read in chunks (a file of any size costs a
/// megabyte of memory), and only if it is still the file that was judged: same inode, size and
/// modification time before and after the read. Otherwise nil, and the file is judged again.
enum ContentDigest {
    static let chunkSize = 1 << 20

    struct Digest: Equatable {
        /// Lower-case hex.
        var sha256: String
        var bytes: Int64
    }

    static func of(_ path: String, judged: FileStatus) -> Digest? {
        // O_NONBLOCK: should a FIFO have taken the name since the look, the open must not hang.
        guard let file = try? OpenFile.open(path, O_RDONLY | O_NONBLOCK),
              let before = try? file.status(), before.isUnchanged(since: judged) else { return nil }
        _ = posix_fadvise(file.descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
        var hasher = SHA256()
        var bytes: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(chunkSize, max(4096, Int(judged.size))), alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = FileSystem.retrying { read(file.descriptor, buffer.baseAddress, buffer.count) }
            if count < 0 { return nil }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            bytes += Int64(count)
        }
        guard let after = try? file.status(), after.isUnchanged(since: judged), bytes == after.size else { return nil }
        return Digest(sha256: Hex.string(hasher.finalize()), bytes: bytes)
    }
}
