import Glibc

/// A new file in a directory that no reader sees until `place` gives it its final name in one
/// step, and that leaves nothing behind if the step dies first.
///
/// Where the file system can, it is opened with O_TMPFILE: it has no name at all, so a kill -9
/// or a full disk leaves nothing to clean up. Elsewhere it gets a hidden temporary name,
/// `.NAME.renkei-tmp.PID.RANDOM`. Either way it is locked (`flock` LOCK_EX) before it has any
/// name and stays locked until the step lets go of it, which is how `LeftoverTemporaries` tells
/// what a killed step left from what a live one is writing.
final class PendingFile {
    /// Where it is made and will be placed.
    let directory: String
    /// The name `place` gives it.
    let name: String
    /// The file itself, open for writing, holding the lock.
    let file: OpenFile
    /// Its hidden name in `directory`, while it has one.
    private var temporaryName: String?

    private init(directory: String, name: String, file: OpenFile, temporaryName: String?) {
        self.directory = directory
        self.name = name
        self.file = file
        self.temporaryName = temporaryName
    }

    /// The full path it will have.
    var finalPath: String { FileSystem.join(directory, name) }

    static func create(in directory: String, for name: String) throws(SystemError) -> PendingFile {
        do throws(SystemError) {
            let file = try OpenFile.open(directory, O_RDWR | oTmpfile, mode: 0o600)
            // Nobody else can open a file without a name, so this cannot wait.
            _ = FileSystem.retrying { flock(file.descriptor, LOCK_EX) }
            return PendingFile(directory: directory, name: name, file: file, temporaryName: nil)
        } catch let error where error.code == EOPNOTSUPP || error.code == EISDIR || error.code == EINVAL {
            // This file system (or kernel) has no O_TMPFILE: a hidden name it is.
        } catch {
            throw SystemError(code: error.code, action: "create a file in", path: directory)
        }
        for _ in 0..<16 {
            let temporary = LeftoverTemporaries.temporaryName(for: name)
            let path = FileSystem.join(directory, temporary)
            let file: OpenFile
            do throws(SystemError) {
                file = try OpenFile.open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            } catch let error where error.code == EEXIST {
                continue
            }
            guard FileSystem.retrying({ flock(file.descriptor, LOCK_EX) }) == 0 else { throw .last("lock", path) }
            // Between creating and locking, a cleaner may have taken the lock and removed the name
            // (it removes only files it holds locked). If the name still leads to this file, no
            // cleaner can have it any more.
            if let named = try? FileSystem.statusOfName(path), let opened = try? file.status(), named.isSameFile(as: opened) {
                return PendingFile(directory: directory, name: name, file: file, temporaryName: temporary)
            }
        }
        throw SystemError(code: EEXIST, action: "create a temporary file for", path: FileSystem.join(directory, name))
    }

    /// Gives the file its final name. With `replacing`, a file of that name is replaced in the same
    /// step (rename); without, an existing one makes this fail with EEXIST and stays untouched.
    func place(replacing: Bool) throws(SystemError) {
        let final = finalPath
        if temporaryName == nil {
            if !replacing {
                try linkUnnamed(as: final)
                return
            }
            let temporary = LeftoverTemporaries.temporaryName(for: name)
            try linkUnnamed(as: FileSystem.join(directory, temporary))
            temporaryName = temporary
        }
        guard let temporary = temporaryName else { return }
        let temporaryPath = FileSystem.join(directory, temporary)
        if replacing {
            try FileSystem.rename(temporaryPath, to: final)
        } else {
            try FileSystem.link(temporaryPath, to: final)
            try? FileSystem.remove(temporaryPath)
        }
        temporaryName = nil
    }

    /// Drops the file: it never gets its final name, and its temporary name (if any) goes.
    func discard() {
        if let temporary = temporaryName {
            let path = FileSystem.join(directory, temporary)
            // Remove only what is still this file: a name is never taken back from another step.
            if let named = try? FileSystem.statusOfName(path), let opened = try? file.status(), named.isSameFile(as: opened) {
                try? FileSystem.remove(path)
            }
            temporaryName = nil
        }
        file.close()
    }

    /// Gives a file opened with O_TMPFILE its first name. Through /proc, because linking the
    /// descriptor itself (AT_EMPTY_PATH) needs a capability a service user does not have.
    private func linkUnnamed(as path: String) throws(SystemError) {
        let guts = "/proc/self/fd/\(file.descriptor)"
        guard linkat(AT_FDCWD, guts, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 else { throw .last("create", path) }
    }

    /// O_TMPFILE as the kernel's generic headers define it (x86-64, arm64); Swift's Glibc module
    /// does not import the macro.
    private static let oTmpfile: Int32 = 0o20000000 | O_DIRECTORY
}
