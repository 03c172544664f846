import Foundation
import GRDB
import Testing
@testable import RenkeiCore
@testable import RenkeiStore

/// The disk and the database going wrong under an open store, for real: a full tmpfs, an ext4
/// the kernel makes read-only or shuts down, the file deleted or replaced.
@Suite struct StoreFailureTests {
    private let job = Job(name: JobName("juki")!, steps: [Step(name: "export", command: .argv(["/bin/true"]))], definitionHash: "abc")
    private let logical = LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "Asia/Tokyo")

    private func enqueue(_ store: RunStore, reason: String = "") async throws -> RunRecord {
        try await store.enqueue(NewRun(job: job, logicalTime: logical, trigger: .manual, reason: reason), owner: .current, at: Date())
    }

    /// The first write that fails, within `attempts`, as the store reports it.
    private func firstFailure(_ attempts: Int = 200, _ write: () async throws -> Void) async -> (any Error)? {
        for _ in 0..<attempts {
            do { try await write() } catch { return error }
        }
        return nil
    }

    private func integrity(_ path: String) throws -> String? {
        try DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
    }

    // MARK: - Disk full

    @Test(.enabled(if: Scratch.isRoot, "mounts a 1 MiB tmpfs: needs root (CI runs the tests as root)"))
    func aFullDiskIsATypedFailureAndWritingResumesOnceThereIsRoom() async throws {
        try await Scratch.withTmpfs(size: "1m") { directory in
            let path = directory + "/renkei.db"
            let store = try RunStore.openForWriting(at: path)
            let before = try await enqueue(store, reason: "before")
            _ = try await store.start(runID: before.id!, environment: [:], workDirectory: "/w", at: Date())
            let filler = try Scratch.fill(directory)

            // Runs with a long reason, so that each write needs new pages of the WAL.
            let error = await firstFailure { _ = try await enqueue(store, reason: String(repeating: "x", count: 8_000)) }
            let failure = try #require(error as? StoreFailure, "\(String(describing: error))")
            #expect(failure.kind == .noSpace)
            #expect(failure.path == path)
            #expect(failure.description.contains("the run store \(path) cannot be written: no space left on its file system"))
            #expect(failure.description.contains("df -h \(directory)"))
            #expect(!store.isWritable)
            #expect(store.lastFailure == failure)
            await #expect(throws: StoreFailure.self) { try await store.probe() }
            // The failed batches did not poison the writer: the same process writes again once
            // there is room.
            try FileManager.default.removeItem(atPath: filler)
            try await store.probe()
            #expect(store.isWritable)
            #expect(store.lastFailure == nil)
            let finished = try await store.finish(runID: before.id!, outcome: .succeeded, at: Date())
            #expect(finished.state == .succeeded)
            _ = try await enqueue(store, reason: "after")
            let reasons = try store.history(job: "juki", limit: 1000).compactMap(\.reason).filter { $0.count < 100 }
            #expect(reasons == ["after", "before"])
            store.close()
            #expect(try integrity(path) == "ok")
            #expect(try RunStore.openForReading(at: path).detail(runID: before.id!)?.run.state == .succeeded)
        }
    }

    // MARK: - Read-only and I/O errors

    @Test(.enabled(if: Scratch.canMountExt4, "loop-mounts an ext4 image: needs root, /dev/loop-control and mkfs.ext4"))
    func aFileSystemTheKernelMadeReadOnlyIsATypedFailure() async throws {
        try await Scratch.withExt4(megabytes: 16) { directory, device in
            let path = directory + "/renkei.db"
            let store = try RunStore.openForWriting(at: path)
            _ = try await enqueue(store, reason: "before")
            // What ext4 does on a disk error with errors=remount-ro.
            try "renkei store test\n".write(toFile: "/sys/fs/ext4/\(device)/trigger_fs_error", atomically: false, encoding: .utf8)
            let error = await firstFailure { _ = try await enqueue(store) }
            let failure = try #require(error as? StoreFailure, "\(String(describing: error))")
            #expect(failure.kind == .readOnly, "\(failure)")
            #expect(failure.description.contains("read-only"))
            #expect(failure.description.contains("findmnt -T \(directory)"))
            #expect(!failure.needsRestart)
            #expect(!store.isWritable)
            await #expect(throws: StoreFailure.self) { try await store.probe() }
            store.close()
        }
    }

    @Test(.enabled(if: Scratch.canMountExt4, "loop-mounts an ext4 image: needs root, /dev/loop-control and mkfs.ext4"))
    func aDiskThatAnswersWithIOErrorsIsATypedFailure() async throws {
        try await Scratch.withExt4(megabytes: 16) { directory, _ in
            let path = directory + "/renkei.db"
            let store = try RunStore.openForWriting(at: path)
            _ = try await enqueue(store, reason: "before")
            // EXT4_IOC_SHUTDOWN without flushing the log: from now on the file system answers EIO.
            let fd = open(directory, O_RDONLY)
            defer { close(fd) }
            var flags: UInt32 = 2
            #expect(ioctl(fd, 0x8004_587D, &flags) == 0)
            let error = await firstFailure { _ = try await enqueue(store) }
            let failure = try #require(error as? StoreFailure, "\(String(describing: error))")
            #expect(failure.kind == .ioError, "\(failure)")
            #expect(failure.description.contains("I/O error"))
            #expect(failure.description.contains("EIO"))
            #expect(!store.isWritable)
            store.close()
        }
    }

    // MARK: - The store is the one it opened

    @Test func aStoreWhosePathNowNamesAnotherFileRefusesToWrite() async throws {
        try await Scratch.withDirectory { directory in
            let path = directory + "/renkei.db"
            let store = try RunStore.openForWriting(at: path)
            let kept = try await enqueue(store, reason: "kept")
            // Another database, with a run of its own.
            let otherPath = directory + "/other.db"
            let other = try RunStore.openForWriting(at: otherPath)
            _ = try await enqueue(other, reason: "the other file")
            other.close()
            // mv renkei.db renkei.db.bak; mv other.db renkei.db
            #expect(rename(path, path + ".bak") == 0)
            #expect(rename(otherPath, path) == 0)

            let error = await firstFailure(1) { _ = try await enqueue(store, reason: "refused") }
            let failure = try #require(error as? StoreFailure, "\(String(describing: error))")
            #expect(failure.kind == .replaced)
            #expect(failure.needsRestart)
            #expect(failure.description.contains("the run store \(path) cannot be written"))
            #expect(failure.description.contains("systemctl restart renkeid"))
            #expect(store.lastFailure?.kind == .replaced)
            #expect(try Self.identity(of: path + "-wal")[1] == 0, "the old file's WAL, still at the path, is emptied")
            // Nothing more reaches the old file, whatever is tried.
            let old = try Self.identity(of: path + ".bak")
            usleep(20_000)
            await #expect(throws: StoreFailure.self) { try await store.probe() }
            await #expect(throws: StoreFailure.self) { try await store.finish(runID: kept.id!, outcome: .succeeded, at: Date()) }
            #expect(try Self.identity(of: path + ".bak") == old)

            // The file now at the path is read as it is, not through the old file's WAL.
            #expect(try RunStore.openForReading(at: path).history().compactMap(\.reason) == ["the other file"])
            store.close()
            #expect(try RunStore.openForReading(at: path).history().compactMap(\.reason) == ["the other file"])
            #expect(try integrity(path) == "ok")
            // The old file holds what was committed to it, and nothing that was refused.
            let moved = try RunStore.openForReading(at: path + ".bak").history()
            #expect(moved.compactMap(\.reason) == ["kept"])
            #expect(moved.first?.state == .queued)
            #expect(try integrity(path + ".bak") == "ok")
        }
    }

    @Test func aStoreWhoseFileWasDeletedRefusesToWrite() async throws {
        try await Scratch.withDirectory { directory in
            let path = directory + "/renkei.db"
            let store = try RunStore.openForWriting(at: path)
            for index in 0..<20 { _ = try await enqueue(store, reason: "run \(index)") }
            let openFile = try #require(Self.openDescriptor(of: path))
            #expect(unlink(path) == 0)

            let error = await firstFailure(1) { _ = try await enqueue(store, reason: "refused") }
            let failure = try #require(error as? StoreFailure, "\(String(describing: error))")
            #expect(failure.kind == .deleted)
            #expect(failure.description.contains(path))
            #expect(!store.isWritable)
            // Were the daemon to stop now without closing the store, the WAL left at the path
            // must hold nothing that the next store there would read back.
            #expect(try Self.identity(of: path + "-wal")[1] == 0)
            // The unlinked file, seen through the descriptor SQLite keeps: unchanged by later writes.
            let old = try Self.identity(of: openFile)
            usleep(20_000)
            await #expect(throws: StoreFailure.self) { try await store.probe() }
            await #expect(throws: StoreFailure.self) { _ = try await enqueue(store, reason: "refused again") }
            #expect(try Self.identity(of: openFile) == old)
            store.close()

            // A store started at the path is a new, empty one: the deleted file's WAL does not
            // come back over it.
            let fresh = try RunStore.openForWriting(at: path)
            #expect(try fresh.history().isEmpty)
            fresh.close()
            #expect(try integrity(path) == "ok")
        }
    }

    /// Size, modification time and inode of a file.
    private static func identity(of path: String) throws -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Scratch.Failed("stat \(path): \(String(cString: strerror(errno)))") }
        return [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
    }

    /// `/proc/self/fd/N` of this process's descriptor of `path`, to look at the file after it is unlinked.
    private static func openDescriptor(of path: String) -> String? {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.map { "/proc/self/fd/\($0)" }.first { link in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == path
        }
    }

    // MARK: - Classification

    @Test(arguments: [
        (ResultCode.SQLITE_FULL, Int32(0), StoreFailure.Kind.noSpace),
        (.SQLITE_IOERR_WRITE, ENOSPC, .noSpace),
        (.SQLITE_IOERR_WRITE, EDQUOT, .quota),
        (.SQLITE_IOERR_FSYNC, EIO, .ioError),
        (.SQLITE_IOERR_WRITE, EROFS, .readOnly),
        (.SQLITE_CANTOPEN, EACCES, .readOnly),
        (.SQLITE_READONLY, 0, .readOnly),
        (.SQLITE_BUSY, 0, .locked),
        (.SQLITE_CORRUPT, 0, .corrupt),
        (.SQLITE_NOTADB, 0, .corrupt),
    ])
    func storageErrorsAreClassified(code: ResultCode, errno: Int32, kind: StoreFailure.Kind) {
        let error = DatabaseError(resultCode: code, message: "from SQLite")
        let failure = StoreFailure.classifying(error, systemErrno: errno, path: "/var/lib/renkei/renkei.db")
        #expect(failure?.kind == kind)
        #expect(failure?.description.hasPrefix("the run store /var/lib/renkei/renkei.db cannot be written: ") == true)
    }

    @Test func aWritesOwnFailureIsNotTheStores() {
        #expect(StoreFailure.classifying(DatabaseError(resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY), systemErrno: 0, path: "/x") == nil)
        #expect(StoreFailure.classifying(RunStoreError.noSuchRun(3), systemErrno: ENOSPC, path: "/x") == nil)
        // A stale errno from an earlier I/O error does not make a full disk a quota.
        #expect(StoreFailure.classifying(DatabaseError(resultCode: .SQLITE_FULL), systemErrno: EDQUOT, path: "/x")?.kind == .noSpace)
    }

    @Test func theOperatorMessageSaysWhatWhereAndWhatToDo() {
        let failure = StoreFailure(.noSpace, path: "/var/lib/renkei/renkei.db", detail: "database or disk is full")
        #expect(failure.description == "the run store /var/lib/renkei/renkei.db cannot be written: no space left on its file system (database or disk is full); free space there (df -h /var/lib/renkei) — writing resumes once there is room")
    }
}
