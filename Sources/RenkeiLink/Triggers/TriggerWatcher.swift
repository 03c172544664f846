import Glibc
import RenkeiCore
import Synchronization

/// Watches the directories of every job's `trigger:` and hands over each file that arrives
/// complete there — a done file beside it, or stable with no writer, judged as `receive` judges —
/// once per content the file had: `arrivals` yields it with its SHA-256 (or `onArrival` gets it).
///
/// It runs on a thread of its own (plus a queue for hashing large files), never on Swift's
/// cooperative threads: the daemon's loop, which runs there, only reads `arrivals` (or gets mail
/// from `onArrival`, which must not block). Files already
/// there when it starts (they arrived while renkeid was stopped) are handed over by the first
/// look; inotify makes new ones quick; a full look every `rescanInterval`, and at once when the
/// kernel reports dropped events, finds whatever an event did not announce.
///
/// Once per process only: the same unchanged file (device, inode, size, modification time) is
/// never handed over twice while the watcher lives; a changed one is handed over again. That a
/// file starts exactly one run across restarts — and one run for the same content under a second
/// name — is the run store's (`claimTriggerFile`).
public final class TriggerWatcher: Sendable {
    public struct Options: Sendable {
        /// How often every directory is looked at in full, whatever the events said.
        public var rescanInterval: Double = 60
        /// Files at least this big are hashed on a queue of their own, so the arrivals behind one
        /// big file are not held up by it.
        public var hashAsideFrom: Int64 = 4 << 20
        /// How soon a file a process still has open for writing is looked at again (its close
        /// wakes the watcher at once too, except for a writer on another machine).
        public var writerRecheck: Double = 1
        /// How often a directory that is missing (not created or mounted yet) is tried again.
        public var missingRetry: Double = 5
        /// The most names looked at between two reads of events: a burst of thousands of files
        /// is taken in slices, and a stop or a reload is never kept waiting for it.
        public var judgedPerPass = 256
        /// False: no inotify at all, full looks only (a file system that sends no events, or a
        /// test of what a lost event costs).
        public var events = true

        public init() {}
    }

    /// Every file that arrived complete, in the order they were found (large files may come
    /// after smaller ones found later); nothing when `onArrival` was given. Ends after `stop()`.
    /// Read it from one task.
    public let arrivals: AsyncStream<TriggerArrival>
    private let signal: TriggerSignal

    /// Starts watching `watches` at once. Each arrival goes to `onArrival` if given — called on the
    /// watcher's thread (or its hashing queue), so it must return quickly: send mail, no I/O —
    /// and to `arrivals` if not.
    public init(_ watches: [TriggerWatch], options: Options = Options(), onArrival: (@Sendable (TriggerArrival) -> Void)? = nil) {
        let (arrivals, continuation) = AsyncStream.makeStream(of: TriggerArrival.self, bufferingPolicy: .unbounded)
        self.arrivals = arrivals
        let signal = TriggerSignal(watches: watches)
        self.signal = signal
        continuation.onTermination = { _ in signal.post(stop: ()) }
        let deliver: @Sendable (TriggerArrival) -> Void = onArrival ?? { continuation.yield($0) }
        let loop = TriggerLoop(options: options, signal: signal, deliver: deliver, finish: { continuation.finish() })
        OwnThread.start(named: "renkei-triggers") { loop.run() }
    }

    deinit { stop() }

    /// Watches `watches` from now on instead (after a reload of the job files). What is known of
    /// jobs still watched stays: an unchanged file handed over before is not handed over again.
    public func replace(_ watches: [TriggerWatch]) { signal.post(watches: watches) }

    /// Looks at every directory in full now, as the periodic rescan does.
    public func rescan() { signal.post(rescan: ()) }

    /// Stops watching; `arrivals` ends soon after. Returns at once.
    public func stop() { signal.post(stop: ()) }
}

/// What other threads tell the watcher's thread, and the pipe that wakes it to read it.
final class TriggerSignal: Sendable {
    struct Mail {
        var watches: [TriggerWatch]?
        var rescan = false
        var stopping = false
        /// Files hashed aside that had changed meanwhile: to be judged again.
        var forget: [Forgotten] = []
    }

    struct Forgotten: Sendable {
        var key: TriggerLoop.Handed
        var status: FileStatus
    }

    private let mail: Mutex<Mail>
    /// The pipe's ends: the watcher's thread polls the first.
    let readable: Int32
    private let writable: Int32

    init(watches: [TriggerWatch]) {
        mail = Mutex(Mail(watches: watches))
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK); _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        readable = ends[0]
        writable = ends[1]
    }

    deinit {
        close(readable)
        close(writable)
    }

    func post(watches: [TriggerWatch]) { send { $0.watches = watches } }
    func post(rescan: Void) { send { $0.rescan = true } }
    func post(stop: Void) { send { $0.stopping = true } }
    func post(forget: Forgotten) { send { $0.forget.append(forget) } }

    /// What was posted since the last take.
    func take() -> Mail {
        mail.withLock { mail in
            defer { mail = Mail(stopping: mail.stopping) }
            return mail
        }
    }

    /// Empties the pipe once the thread is awake.
    func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while bytes.withUnsafeMutableBytes({ read(readable, $0.baseAddress, $0.count) }) > 0 {}
    }

    private func send(_ change: (inout Mail) -> Void) {
        mail.withLock { change(&$0) }
        var byte: UInt8 = 1
        // A full pipe already wakes the thread: the byte is not needed then.
        _ = write(writable, &byte, 1)
    }
}

/// A thread of its own, outside Swift's cooperative pool and Dispatch's.
enum OwnThread {
    private final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start(named name: String, _ body: @escaping () -> Void) {
        var thread = pthread_t()
        let start = Unmanaged.passRetained(Start {
            nameThisThread(name)
            body()
        }).toOpaque()
        let created = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.body()
            return nil
        }, start)
        guard created == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            fatalError("cannot start the thread \(name): \(String(cString: strerror(created)))")
        }
        pthread_detach(thread)
    }

    /// So `top -H` and `ps -L` show what the thread is (Glibc's pthread_setname_np is not imported).
    private static func nameThisThread(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
