import Glibc
import RenkeiCore

/// One look at a receive step's source directory: the files that match the data pattern and the
/// done-file pattern, each with its `stat`. Only regular files count (a symbolic link counts as
/// what it leads to); a file matching both patterns is a done file.
struct SourceLook {
    enum Directory: Equatable {
        case listed
        case missing
        /// Readable it is not, for this reason (strerror).
        case unreadable(String)
    }

    struct File: Equatable {
        var name: String
        var status: FileStatus
    }

    var directory: Directory
    var data: [File]
    var done: [File]

    static func take(of directory: String, pattern: String, donePattern: String?) -> SourceLook {
        let names: [String]
        do throws(SystemError) {
            names = try FileSystem.names(in: directory)
        } catch {
            let state: Directory = error.code == ENOENT || error.code == ENOTDIR ? .missing : .unreadable(error.reason)
            return SourceLook(directory: state, data: [], done: [])
        }
        var look = SourceLook(directory: .listed, data: [], done: [])
        for name in names.sorted() {
            let isDone = donePattern.map { Glob.matches($0, name) } ?? false
            guard isDone || Glob.matches(pattern, name) else { continue }
            // Gone since the listing, or a dangling link: not there.
            guard let status = try? FileSystem.status(of: FileSystem.join(directory, name)), status.isRegularFile else { continue }
            if isDone {
                look.done.append(File(name: name, status: status))
            } else {
                look.data.append(File(name: name, status: status))
            }
        }
        return look
    }
}
