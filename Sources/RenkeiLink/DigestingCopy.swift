import Crypto
import Dispatch
import Glibc
import Synchronization

/// Copies a file's bytes once and computes their SHA-256 on the way, so what is recorded is the
/// hash of exactly the bytes written, without reading the file a second time.
///
/// Three things go on at once, chunk by chunk: this thread reads, a writer thread writes, a
/// hashing thread hashes (about 1.7 GB/s on one core with SHA instructions — as slow as the copy
/// itself). Writes bypass the page cache (O_DIRECT) where the file system allows: they go to the
/// disk at its speed with little CPU, and the final `fsync` has nothing left to flush.
enum DigestingCopy {
    /// Big enough for long sequential writes and few system calls, small enough that a chunk just
    /// read is still in the CPU's cache when it is hashed: on the machine this was measured on
    /// (2-core EPYC, 1 MiB L2 per core), 1 MiB chunks copied a 1 GiB file about a third faster
    /// than 4 MiB ones.
    static let chunkSize = 1 << 20
    /// Chunks in flight between reading, writing and hashing: a slow moment of the disk does not
    /// stall the hash, nor the hash the disk.
    static let chunkCount = 24

    struct Copied {
        var bytes: Int64
        /// Lower-case hex.
        var sha256: String
    }

    enum Failure: Error {
        case reading(SystemError)
        case writing(SystemError, written: Int64)
    }

    static func copy(from source: OpenFile, to target: OpenFile) throws(Failure) -> Copied {
        _ = posix_fadvise(source.descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
        let pipeline = CopyPipeline(target: target, chunkSize: chunkSize, chunkCount: chunkCount)
        var index = 0
        var atEnd = false
        while !atEnd && !pipeline.writeFailed {
            let chunk = pipeline.freeChunk(index)
            guard let base = chunk.baseAddress else { break }
            var filled = 0
            // Full chunks (a read may return less than asked): O_DIRECT wants every write but the last aligned.
            while filled < chunk.count {
                let count = FileSystem.retrying { read(source.descriptor, base + filled, chunk.count - filled) }
                if count < 0 {
                    let failure = SystemError.last("read", source.path)
                    _ = pipeline.finish()
                    throw .reading(failure)
                }
                if count == 0 {
                    atEnd = true
                    break
                }
                filled += count
            }
            if filled > 0 {
                pipeline.writeAndHash(index, count: filled)
                index += 1
            }
        }
        let (written, failure, sha256) = pipeline.finish()
        if let failure { throw .writing(failure, written: written) }
        return Copied(bytes: written, sha256: sha256)
    }
}

/// The chunks shared by the reading thread (the caller), the writing queue and the hashing queue.
/// A chunk belongs to the reader until it hands it over with `writeAndHash`, then to both queues
/// until each has left its group; the reader waits on that group before filling it again. That
/// ordering is what makes the unchecked sendability true; what the writer reports back goes
/// through a mutex.
private final class CopyPipeline: @unchecked Sendable {
    private let target: OpenFile
    private let chunks: [UnsafeMutableRawBufferPointer]
    private let inUse: [DispatchGroup]
    private let writing = DispatchQueue(label: "renkei.link.write")
    private let hashing = DispatchQueue(label: "renkei.link.sha256")
    /// Touched by the hashing queue only (and by `finish` once it has drained).
    private var hasher = SHA256()
    /// Bytes written, and the write error that stopped the copy.
    private let outcome = Mutex<(written: Int64, failure: SystemError?)>((0, nil))
    /// Touched by the writing queue only.
    private var direct: Bool
    private let flags: Int32

    init(target: OpenFile, chunkSize: Int, chunkCount: Int) {
        self.target = target
        chunks = (0..<chunkCount).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096) }
        inUse = (0..<chunkCount).map { _ in DispatchGroup() }
        flags = fcntl(target.descriptor, F_GETFL)
        direct = fcntl(target.descriptor, F_SETFL, flags | Self.oDirect) == 0
    }

    deinit { chunks.forEach { $0.deallocate() } }

    /// Writes through the page cache go in pieces this big: on the machine this was measured on
    /// (Linux 6.18, ext4), 4 MiB writes through the cache took three times as long as 128 KiB ones,
    /// which keep what is copied in the CPU's cache.
    static let cachedWriteSize = 128 << 10

    /// O_DIRECT, which Swift's Glibc module does not import (it needs _GNU_SOURCE); its value
    /// differs between architectures.
    #if arch(arm64) || arch(arm)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0o40000
    #endif

    var writeFailed: Bool { outcome.withLock { $0.failure != nil } }

    /// Chunk number `index` (counting all chunks of the copy), once writer and hasher are done with it.
    func freeChunk(_ index: Int) -> UnsafeMutableRawBufferPointer {
        inUse[index % chunks.count].wait()
        return chunks[index % chunks.count]
    }

    func writeAndHash(_ index: Int, count: Int) {
        let slot = index % chunks.count
        let group = inUse[slot]
        group.enter()
        group.enter()
        writing.async { [self] in
            write(UnsafeRawBufferPointer(rebasing: chunks[slot][0..<count]))
            group.leave()
        }
        hashing.async { [self] in
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunks[slot][0..<count]))
            group.leave()
        }
    }

    /// Waits for both queues; the bytes written, the write error if one stopped the copy, and the
    /// hex digest of what was hashed.
    func finish() -> (written: Int64, failure: SystemError?, sha256: String) {
        writing.sync {}
        let sha256 = hashing.sync { Hex.string(hasher.finalize()) }
        return outcome.withLock { ($0.written, $0.failure, sha256) }
    }

    private func write(_ chunk: UnsafeRawBufferPointer) {
        guard !writeFailed, let base = chunk.baseAddress else { return }
        // The last chunk of a file is rarely a whole number of blocks: written through the cache.
        if direct && chunk.count % 4096 != 0 { leaveDirect() }
        var offset = 0
        while offset < chunk.count {
            let piece = direct ? chunk.count - offset : min(Self.cachedWriteSize, chunk.count - offset)
            let written = FileSystem.retrying { Glibc.write(target.descriptor, base + offset, piece) }
            if written < 0 && errno == EINVAL && direct {
                // The file system takes O_DIRECT when asked but not these writes: through the cache then.
                leaveDirect()
                continue
            }
            guard written > 0 else {
                // A regular file never takes zero bytes of a non-empty write; don't spin if one does.
                let failure = SystemError(code: written < 0 ? errno : EIO, action: "write", path: target.path)
                outcome.withLock { $0.written += Int64(offset); $0.failure = failure }
                return
            }
            offset += written
        }
        outcome.withLock { $0.written += Int64(offset) }
    }

    private func leaveDirect() {
        _ = fcntl(target.descriptor, F_SETFL, flags)
        direct = false
    }
}

/// Lower-case hex, as `sha256sum` prints it.
enum Hex {
    static func string<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
