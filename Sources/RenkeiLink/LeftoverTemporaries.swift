import Glibc

/// Temporary files a killed step left in a directory — `.NAME.renkei-tmp.PID.RANDOM`, hidden so
/// the target system's own glob does not see them — and their removal.
///
/// A live step holds an exclusive `flock` on its temporary file from before the file has any name
/// (`PendingFile`), so whoever gets the lock without waiting knows its writer is gone. A step that
/// was killed released its lock with its last descriptor. Locks, not process ids: a pid can be
/// reused, and the writer may have run on another machine sharing the directory.
enum LeftoverTemporaries {
    static let marker = ".renkei-tmp."

    static func isTemporary(_ name: String) -> Bool { name.hasPrefix(".") && name.contains(marker) }

    /// A fresh hidden name for a file that will be called `name`. The random part keeps two steps
    /// of the same pid (one long dead) from ever sharing a name.
    static func temporaryName(for name: String) -> String {
        var stem = name
        // A name may be up to 255 bytes; leave room for the rest.
        while stem.utf8.count > 200 { stem.removeLast() }
        let random = String(UInt32.random(in: .min ... .max), radix: 16)
        return ".\(stem)\(marker)\(getpid()).\(random)"
    }

    struct Cleanup {
        /// Names removed: their writers were gone.
        var removed: [String] = []
        /// Names left, with why: a live step's, or one that could not be checked.
        var kept: [(name: String, reason: String)] = []
    }

    /// Removes every temporary file in `directory` that no live step holds.
    static func remove(in directory: String) -> Cleanup {
        var cleanup = Cleanup()
        guard let names = try? FileSystem.names(in: directory) else { return cleanup }
        for name in names where isTemporary(name) {
            let path = FileSystem.join(directory, name)
            let file: OpenFile
            do throws(SystemError) {
                // O_NONBLOCK: a FIFO of that name must not hang the step.
                file = try OpenFile.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
            } catch {
                if error.code != ENOENT { cleanup.kept.append((name, error.reason)) }
                continue
            }
            guard let opened = try? file.status(), opened.isRegularFile else { continue }
            guard flock(file.descriptor, LOCK_EX | LOCK_NB) == 0 else {
                cleanup.kept.append((name, errno == EWOULDBLOCK ? "a running step is writing it" : String(cString: strerror(errno))))
                continue
            }
            // The name may have been renamed into place (or reused) since it was opened: remove
            // it only while it still is the file locked.
            guard let named = try? FileSystem.statusOfName(path), named.isSameFile(as: opened) else { continue }
            do throws(SystemError) {
                try FileSystem.remove(path)
                cleanup.removed.append(name)
            } catch {
                cleanup.kept.append((name, error.reason))
            }
        }
        return cleanup
    }
}
