import Foundation

/// Threads for tasks whose work blocks now and then: runs (SQLite commits with fsync, the job's
/// lock, its work directory) and control requests (their run's row, the audit chain). On Swift's
/// cooperative pool — one thread per CPU — a few such tasks would hold every thread, and the
/// scheduler loop would wait behind them. Here a blocked task holds only its own thread.
final class BlockingThreads: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: [UnownedJob] = []
    private var next = 0

    init(count: Int, name: String) {
        for index in 0..<count {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        waiting.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while next == waiting.count { condition.wait() }
            let job = waiting[next]
            next += 1
            if next == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
