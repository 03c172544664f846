import Glibc

/// Waits for something to happen in a directory, or for a time limit, whichever comes first.
///
/// The events only wake the waiter early; they never say *what* happened, because the caller
/// looks at the whole directory again after every wake-up (level-triggered). So a lost event, an
/// overflowed inotify queue, or a file system that sends no events at all (NFS, SMB) cost at most
/// the caller's longest wait, never a missed file.
final class DirectoryWatch {
    let directory: String
    /// The inotify instance; -1 when the kernel refused one (then every wait is a plain timeout).
    private let descriptor: Int32
    /// The watch on `directory`; nil while it does not exist (or cannot be watched), retried on every wait.
    private var watch: Int32?

    static let events: UInt32 = UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM)
        | UInt32(IN_DELETE_SELF | IN_MOVE_SELF)

    init(_ directory: String) {
        self.directory = directory
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        addWatch()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Returns when an event arrives for the directory, or after `seconds`.
    func wait(seconds: Double) {
        if watch == nil { addWatch() }
        let milliseconds = Int32(max(0, min(seconds, 3600)) * 1000) + 1
        guard descriptor >= 0, watch != nil else {
            _ = poll(nil, 0, milliseconds)
            return
        }
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&request, 1, milliseconds)
        drain()
    }

    private func addWatch() {
        guard descriptor >= 0 else { return }
        let added = inotify_add_watch(descriptor, directory, Self.events)
        watch = added >= 0 ? added : nil
    }

    /// Reads every queued event; notes when the directory itself went away (removed, renamed,
    /// unmounted), so the next wait watches whatever then has its name.
    private func drain() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer, size)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                if let current = watch, event.wd == current, event.mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) != 0 {
                    if event.mask & UInt32(IN_IGNORED) == 0 { _ = inotify_rm_watch(descriptor, current) }
                    watch = nil
                }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
    }
}
