import Foundation

/// Lets the scheduler loop sleep until its next slot, and anyone wake it early (a run ended,
/// SIGHUP, SIGTERM). A wake that comes while the loop is busy is kept for the next wait.
final class Wakeup: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?
    /// The timer of the current wait, cancelled when a signal ends the wait first: a busy daemon
    /// is woken thousands of times a minute and must not leave a sleeping timer behind each time.
    private var timer: Task<Void, Never>?
    private var generation = 0

    /// Wakes the loop now, or at its next `wait`.
    func signal() {
        lock.lock()
        if let waiter {
            self.waiter = nil
            timer?.cancel()
            timer = nil
            lock.unlock()
            waiter.resume()
            return
        }
        pending = true
        lock.unlock()
    }

    /// Returns after `duration`, or as soon as `signal` is called. The timer has no tolerance: a
    /// slot is due at its instant, and the default lets the system fire late by up to a tenth of
    /// the wait.
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
            timer = Task.detached { [self] in
                guard (try? await Task.sleep(for: duration, tolerance: .zero)) != nil else { return }
                self.timeout(generation: mine)
            }
            lock.unlock()
        }
    }

    private func timeout(generation expected: Int) {
        lock.lock()
        guard generation == expected, let waiter else {
            lock.unlock()
            return
        }
        self.waiter = nil
        timer = nil
        lock.unlock()
        waiter.resume()
    }
}
