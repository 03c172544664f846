import Foundation

/// Lets the scheduler loop sleep until its next slot, and anyone wake it early (a run ended,
/// SIGHUP, SIGTERM). A wake that comes while the loop is busy is kept for the next wait.
final class Wakeup: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var generation = 0

    /// Wakes the loop now, or at its next `wait`.
    func signal() {
        lock.lock()
        if let waiter {
            self.waiter = nil
            lock.unlock()
            waiter.resume()
            return
        }
        pending = true
        lock.unlock()
    }

    /// Returns after `duration`, or as soon as `signal` is called.
    func wait(for duration: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if pending {
                pending = false
                lock.unlock()
                continuation.resume()
                return
            }
            waiter = continuation
            generation += 1
            let mine = generation
            lock.unlock()
            Task.detached { [self] in
                try? await Task.sleep(for: duration)
                self.timeout(generation: mine)
            }
        }
    }

    private func timeout(generation expected: Int) {
        lock.lock()
        guard generation == expected, let waiter else {
            lock.unlock()
            return
        }
        self.waiter = nil
        lock.unlock()
        waiter.resume()
    }
}
