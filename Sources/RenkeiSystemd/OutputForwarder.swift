import Foundation

/// Sends job output lines to the journal from a thread of its own, through a bounded queue: a
/// job printing 100,000 lines a second, or a slow journald, can delay only this thread, never the
/// scheduler or the step's own pipe reading. When the queue is full, lines are dropped and counted,
/// and the count is logged (`output-dropped`) — the run's stored tail still has the end.
public final class OutputForwarder: @unchecked Sendable {
    /// One line and the fields that say whose it is.
    public struct Line: Sendable {
        public let fields: [Journal.Field]
        /// Whose line it is (`job run 12`), for counting dropped lines.
        public let key: String

        public init(fields: [Journal.Field], key: String) {
            self.fields = fields
            self.key = key
        }
    }

    private let lock = NSCondition()
    private var queue: [Line] = []
    private var dropped: [String: Int] = [:]
    /// The forwarding thread holds a batch it has not finished sending.
    private var sending = false
    private let capacity: Int
    private let onDropped: @Sendable (String, Int) -> Void
    private let deliver: @Sendable ([Journal.Field]) -> Void

    /// `onDropped(key, count)` is called (on the forwarding thread) after lines of `key` were lost.
    public init(capacity: Int = 50_000, deliver: @escaping @Sendable ([Journal.Field]) -> Void = { Journal.send($0) },
                onDropped: @escaping @Sendable (String, Int) -> Void) {
        self.capacity = capacity
        self.deliver = deliver
        self.onDropped = onDropped
        let thread = Thread { [unowned self] in self.drain() }
        thread.name = "renkei-journal-output"
        thread.start()
    }

    /// Queues a line; never blocks.
    public func enqueue(_ line: Line) {
        lock.lock()
        if queue.count >= capacity {
            dropped[line.key, default: 0] += 1
        } else {
            queue.append(line)
        }
        lock.signal()
        lock.unlock()
    }

    /// Waits until every queued line was sent, at most `timeout` (a short-lived process calls this
    /// before it exits).
    public func flush(timeout: Duration = .seconds(5)) {
        let end = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < end {
            lock.lock()
            let idle = queue.isEmpty && !sending
            lock.unlock()
            if idle { return }
            usleep(5_000)
        }
    }

    /// Lines queued and not yet sent.
    public var backlog: Int {
        lock.lock()
        defer { lock.unlock() }
        return queue.count
    }

    private func drain() {
        while true {
            lock.lock()
            while queue.isEmpty && dropped.isEmpty { lock.wait() }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let lost = dropped
            dropped.removeAll()
            sending = true
            lock.unlock()
            for line in batch { deliver(line.fields) }
            for (key, count) in lost { onDropped(key, count) }
            lock.lock()
            sending = false
            lock.unlock()
        }
    }
}
