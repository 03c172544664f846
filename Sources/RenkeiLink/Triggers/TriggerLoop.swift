import Dispatch
import Glibc
import RenkeiCore

/// The watcher's thread: one inotify descriptor for every directory, a look at each file an event
/// names, a full look at every directory at start, every `rescanInterval` and after the kernel
/// dropped events, and a second look at each file whose verdict is due. Level-triggered like
/// `receive`: an event only says where to look, the look decides; so a lost event costs at most
/// one rescan interval, never a file.
///
/// Everything here is touched by this thread only, except the mailbox (`TriggerSignal`).
final class TriggerLoop {
    private let options: TriggerWatcher.Options
    private let signal: TriggerSignal
    /// Where each arrival goes (the stream, or the owner's callback), from this thread or the hashing queue.
    private let deliver: @Sendable (TriggerArrival) -> Void
    /// Called once as the thread ends: the stream ends.
    private let finish: () -> Void
    /// Large files are hashed here, so one big file does not hold up the arrivals behind it.
    private let hashing = DispatchQueue(label: "renkei.trigger.sha256")

    /// The inotify instance; -1 when the kernel refused one or events are off (then rescans only).
    private let inotify: Int32
    /// The directories watched, by path.
    private var directories: [String: WatchedDirectory] = [:]
    /// Which directories each inotify watch stands for (two paths may name one directory).
    private var watched: [Int32: [String]] = [:]
    /// Each file handed over, as it was then, by job, directory and name: handed again only once changed.
    private var handed: [Handed: FileStatus] = [:]
    /// Names to look at, by directory, oldest first, each once.
    private var dirty = LookQueue()
    /// When a second look at a file is due (monotonic seconds), by directory, job and name.
    private var dueLooks: [DueLook: Double] = [:]
    private var nextRescan = 0.0
    private var nextWatchRetry = 0.0

    struct Handed: Hashable {
        var job: JobName
        var directory: String
        var name: String
    }

    struct DueLook: Hashable {
        var directory: String
        var job: JobName
        var name: String
    }

    init(options: TriggerWatcher.Options, signal: TriggerSignal, deliver: @escaping @Sendable (TriggerArrival) -> Void, finish: @escaping () -> Void) {
        self.options = options
        self.signal = signal
        self.deliver = deliver
        self.finish = finish
        inotify = options.events ? inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) : -1
        // The first message (the watches to start with) rescans every directory.
        nextRescan = Now.monotonic + options.rescanInterval
        nextWatchRetry = Now.monotonic + options.missingRetry
    }

    deinit {
        if inotify >= 0 { close(inotify) }
    }

    func run() {
        while true {
            let mail = signal.take()
            if mail.stopping { break }
            if let watches = mail.watches { replace(watches) }
            for forgotten in mail.forget where handed[forgotten.key].map({ $0.isUnchanged(since: forgotten.status) }) == true {
                // Changed while it was hashed aside: judged again.
                handed[forgotten.key] = nil
                dirty.add(forgotten.key.directory, forgotten.key.name)
            }
            let now = Now.monotonic
            if mail.rescan || now >= nextRescan {
                rescanAll()
                nextRescan = now + options.rescanInterval
            }
            if now >= nextWatchRetry {
                retryMissingWatches()
                nextWatchRetry = now + options.missingRetry
            }
            lookAtDueFiles(now: now)
            pass()
            waitForEvents()
        }
        for path in Array(directories.keys) { unwatch(path) }
        finish()
    }

    // MARK: The watched set

    private func replace(_ watches: [TriggerWatch]) {
        var byDirectory: [String: [TriggerWatch]] = [:]
        for watch in watches { byDirectory[watch.trigger.path, default: []].append(watch) }
        for path in Array(directories.keys) where byDirectory[path] == nil { unwatch(path) }
        handed = handed.filter { key, _ in byDirectory[key.directory]?.contains { $0.job == key.job } == true }
        dueLooks = dueLooks.filter { look, _ in byDirectory[look.directory]?.contains { $0.job == look.job } == true }
        for (path, watches) in byDirectory {
            if let directory = directories[path] {
                // What is known of an unchanged trigger (a stable file half-way settled) is kept.
                let kept = directory.entries.filter { watches.contains($0.watch) }
                let added = watches.filter { watch in !kept.contains { $0.watch == watch } }
                directory.entries = kept + added.map(TriggerEntry.init)
                if !added.isEmpty { rescan(directory) }
            } else {
                let directory = WatchedDirectory(path: path, entries: watches.map(TriggerEntry.init))
                directories[path] = directory
                addWatch(directory)
                rescan(directory)
            }
        }
    }

    private func addWatch(_ directory: WatchedDirectory) {
        guard inotify >= 0, directory.watch == nil else { return }
        let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM)
            | UInt32(IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR)
        let descriptor = inotify_add_watch(inotify, directory.path, mask)
        guard descriptor >= 0 else { return }
        directory.watch = descriptor
        watched[descriptor, default: []].append(directory.path)
    }

    private func unwatch(_ path: String) {
        guard let directory = directories.removeValue(forKey: path) else { return }
        if let descriptor = directory.watch {
            watched[descriptor]?.removeAll { $0 == path }
            if watched[descriptor]?.isEmpty == true {
                watched[descriptor] = nil
                _ = inotify_rm_watch(inotify, descriptor)
            }
        }
        dueLooks = dueLooks.filter { $0.key.directory != path }
    }

    /// A directory that was missing (not created or mounted yet) or went away is watched again as
    /// soon as it is there, and looked at in full then: what arrived meanwhile is not missed.
    private func retryMissingWatches() {
        guard inotify >= 0 else { return }
        for directory in directories.values where directory.watch == nil {
            addWatch(directory)
            if directory.watch != nil { rescan(directory) }
        }
    }

    // MARK: Looking

    private func rescanAll() {
        for directory in directories.values { rescan(directory) }
    }

    /// Every name in the directory that a trigger cares about is looked at (in later passes, a few
    /// hundred at a time); what is known of names no longer there is forgotten.
    private func rescan(_ directory: WatchedDirectory) {
        let names: Set<String>
        do throws(SystemError) {
            names = Set(try FileSystem.names(in: directory.path))
        } catch {
            // Missing or unreadable: nothing to take, and nothing known stays true.
            names = []
        }
        for (index, entry) in directory.entries.enumerated() {
            entry.doneNames.formIntersection(names)
            for name in entry.candidates.keys.filter({ !names.contains($0) }) {
                forget(name, of: index, in: directory)
            }
        }
        for name in names.sorted() where directory.caresAbout(name) {
            dirty.add(directory.path, name)
        }
    }

    private func lookAtDueFiles(now: Double) {
        guard !dueLooks.isEmpty else { return }
        for look in dueLooks.filter({ $0.value <= now }).keys {
            dueLooks[look] = nil
            dirty.add(look.directory, look.name)
        }
    }

    /// Looks at up to `judgedPerPass` names: done files first, so data files they complete are
    /// taken in this same pass.
    private func pass() {
        let batch = dirty.take(options.judgedPerPass)
        guard !batch.isEmpty else { return }
        var looked: [String: Looked] = [:]
        var writersLooked: [FileStatus] = []
        var doneFiles: [(WatchedDirectory, String)] = [], dataFiles: [(WatchedDirectory, String)] = []
        for item in batch {
            guard let directory = directories[item.directory] else { continue }
            let path = FileSystem.join(directory.path, item.name)
            let look = Looked.at(path)
            looked[path] = look
            let isDone = directory.entries.contains { $0.isDoneFile(item.name) }
            if let status = look?.status, directory.entries.contains(where: { entry in
                if case .stable = entry.completion { entry.watch.trigger.matches(item.name) } else { false }
            }) {
                writersLooked.append(status)
            }
            if isDone { doneFiles.append((directory, item.name)) } else { dataFiles.append((directory, item.name)) }
        }
        // One walk through /proc for the whole pass, and only if some file is quiet long enough to ask.
        var writers: [OpenWriters.FileKey: [OpenWriters.Writer]]?
        let writersOf: (FileStatus) -> [OpenWriters.Writer] = { status in
            if writers == nil { writers = OpenWriters.of(writersLooked) }
            return writers?[OpenWriters.FileKey(status)] ?? []
        }
        for (directory, name) in doneFiles + dataFiles {
            look(name, in: directory, looked[FileSystem.join(directory.path, name)] ?? nil, writers: writersOf)
        }
    }

    private func look(_ name: String, in directory: WatchedDirectory, _ looked: Looked?, writers: (FileStatus) -> [OpenWriters.Writer]) {
        for (index, entry) in directory.entries.enumerated() {
            if entry.isDoneFile(name) {
                if looked != nil {
                    entry.doneNames.insert(name)
                    for woken in entry.takeWaiting(completedBy: name) {
                        entry.candidates[woken]?.waitingDay = nil
                        judge(woken, of: index, in: directory, Looked.at(FileSystem.join(directory.path, woken)), writers: writers)
                    }
                } else {
                    entry.doneNames.remove(name)
                }
            } else if entry.watch.trigger.matches(name) {
                judge(name, of: index, in: directory, looked, writers: writers)
            }
        }
    }

    /// Decides whether `name` is complete for the trigger `index` of `directory`, and hands it over if so.
    private func judge(_ name: String, of index: Int, in directory: WatchedDirectory, _ looked: Looked?,
                       writers: (FileStatus) -> [OpenWriters.Writer]) {
        let entry = directory.entries[index]
        let watch = entry.watch
        let path = FileSystem.join(directory.path, name)
        guard let looked else {
            forget(name, of: index, in: directory)
            return
        }
        let key = Handed(job: watch.job, directory: directory.path, name: name)
        if let earlier = handed[key], looked.status.isUnchanged(since: earlier) { return }
        let wallNow = Now.wall, monotonicNow = Now.monotonic
        let arrivedAt = min(looked.changedAt, wallNow)
        let arrivalDate = Self.day(of: arrivedAt, in: watch.zoneIdentifier)
        let logicalDate = watch.trigger.date(fromName: name)
        let day = logicalDate ?? arrivalDate

        var candidate = entry.candidates[name] ?? TriggerEntry.Candidate(arrival: Arrival(completion: entry.completion))
        var done: [SourceLook.File] = []
        if case .doneFile = entry.completion, let doneName = entry.doneFile(for: day) {
            if let status = Looked.at(FileSystem.join(directory.path, doneName))?.status {
                done = [SourceLook.File(name: doneName, status: status)]
            } else {
                entry.doneNames.remove(doneName)
            }
        }
        let sourceLook = SourceLook(directory: .listed, data: [SourceLook.File(name: name, status: looked.status)], done: done)
        let verdict = candidate.arrival.judge(sourceLook, wallNow: wallNow, monotonicNow: monotonicNow, writers: writers)
        entry.candidates[name] = candidate
        let due = DueLook(directory: directory.path, job: watch.job, name: name)
        switch verdict {
        case .complete:
            entry.stopWaiting(name)
            dueLooks[due] = nil
            handed[key] = looked.status
            hand(TriggerArrival(job: watch.job, path: path, sha256: "", bytes: looked.status.size, modifiedAt: looked.status.modifiedAt,
                                logicalDate: logicalDate, arrivedAt: arrivedAt, arrivalDate: arrivalDate),
                 status: looked.status, directory: directory.path, name: name)
        case .waiting(.noDoneFile, _):
            entry.wait(name, forDoneFileOf: day)
        case .waiting(.openForWriting, _):
            // Its close wakes the watcher too; this is for writers whose close sends no event.
            dueLooks[due] = monotonicNow + options.writerRecheck
        case .waiting(_, let again?):
            dueLooks[due] = monotonicNow + again
        case .waiting, .ambiguous:
            break
        }
    }

    private func forget(_ name: String, of index: Int, in directory: WatchedDirectory) {
        let entry = directory.entries[index]
        let job = entry.watch.job
        entry.stopWaiting(name)
        entry.candidates[name] = nil
        handed[Handed(job: job, directory: directory.path, name: name)] = nil
        dueLooks[DueLook(directory: directory.path, job: job, name: name)] = nil
    }

    /// Hashes the file and hands it over; a large one on the hashing queue. A file that changed
    /// since it was judged is not handed over but looked at again.
    private func hand(_ arrival: TriggerArrival, status: FileStatus, directory: String, name: String) {
        let deliver = deliver
        if status.size >= options.hashAsideFrom {
            let signal = signal
            let key = Handed(job: arrival.job, directory: directory, name: name)
            hashing.async {
                guard let digest = ContentDigest.of(arrival.path, judged: status) else {
                    signal.post(forget: .init(key: key, status: status))
                    return
                }
                var complete = arrival
                complete.sha256 = digest.sha256
                complete.bytes = digest.bytes
                deliver(complete)
            }
            return
        }
        guard let digest = ContentDigest.of(arrival.path, judged: status) else {
            handed[Handed(job: arrival.job, directory: directory, name: name)] = nil
            dueLooks[DueLook(directory: directory, job: arrival.job, name: name)] = Now.monotonic + options.writerRecheck
            return
        }
        var complete = arrival
        complete.sha256 = digest.sha256
        complete.bytes = digest.bytes
        deliver(complete)
    }

    /// `seconds`' day in `zone`.
    static func day(of seconds: Double, in zone: String) -> JapaneseHolidays.Day {
        let date = LogicalTime(epochSeconds: Int64(seconds.rounded(.down)), zoneIdentifier: zone).date
        let parts = date.split(separator: "-").compactMap { Int($0) }
        return JapaneseHolidays.Day(year: parts[0], month: parts[1], day: parts[2])
    }

    // MARK: Events

    /// Sleeps until an event, a message, or the next due look or rescan; not at all while names
    /// are waiting to be looked at.
    private func waitForEvents() {
        var timeout = 0.0
        if dirty.isEmpty {
            let now = Now.monotonic
            var next = min(nextRescan, nextWatchRetry)
            if let due = dueLooks.values.min() { next = min(next, due) }
            timeout = max(0, next - now)
        }
        var requests = [pollfd(fd: signal.readable, events: Int16(POLLIN), revents: 0)]
        if inotify >= 0 { requests.append(pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)) }
        // Rounded up: waking a millisecond early would find nothing due and spin.
        let milliseconds = Int32(min(timeout, 3600) * 1000 + 0.999)
        _ = requests.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), milliseconds) }
        signal.drain()
        if inotify >= 0 { readEvents() }
    }

    private func readEvents() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        let header = MemoryLayout<inotify_event>.size
        while true {
            let count = read(inotify, buffer, size)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            var offset = 0
            while offset + header <= count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let name = event.len > 0 ? String(cString: (buffer + offset + header).assumingMemoryBound(to: CChar.self)) : nil
                offset += header + Int(event.len)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    // The kernel dropped events: only a full look finds what they said.
                    rescanAll()
                    nextRescan = Now.monotonic + options.rescanInterval
                    continue
                }
                guard let paths = watched[event.wd] else { continue }
                if event.mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) != 0 {
                    // The directory went away (removed, renamed, unmounted): watched again once it is back.
                    if event.mask & UInt32(IN_IGNORED) == 0 { _ = inotify_rm_watch(inotify, event.wd) }
                    watched[event.wd] = nil
                    for path in paths { directories[path]?.watch = nil }
                    nextWatchRetry = min(nextWatchRetry, Now.monotonic + options.missingRetry)
                    continue
                }
                guard let name else { continue }
                for path in paths {
                    guard let directory = directories[path], directory.caresAbout(name) else { continue }
                    dirty.add(path, name)
                }
            }
        }
    }
}

/// A `stat` of a data or done file, with the inode's change time: when the file got its present
/// name or content, which no sender can set back (unlike the modification time `cp -p` keeps).
struct Looked {
    var status: FileStatus
    /// Seconds since the epoch.
    var changedAt: Double

    /// Regular files only (a symbolic link counts as what it leads to); nil for anything else or nothing.
    static func at(_ path: String) -> Looked? {
        var raw = stat()
        guard stat(path, &raw) == 0 else { return nil }
        let status = FileStatus(raw)
        guard status.isRegularFile else { return nil }
        return Looked(status: status, changedAt: Double(raw.st_ctim.tv_sec) + Double(raw.st_ctim.tv_nsec) / 1e9)
    }
}

/// Names to look at, oldest first, each at most once while it waits.
struct LookQueue {
    struct Item: Hashable {
        var directory: String
        var name: String
    }

    private var items: [Item] = []
    private var head = 0
    private var queued: Set<Item> = []

    var isEmpty: Bool { head == items.count }

    mutating func add(_ directory: String, _ name: String) {
        let item = Item(directory: directory, name: name)
        if queued.insert(item).inserted { items.append(item) }
    }

    mutating func take(_ limit: Int) -> [Item] {
        let end = min(items.count, head + limit)
        let taken = Array(items[head..<end])
        head = end
        for item in taken { queued.remove(item) }
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return taken
    }
}
