import Foundation
import Logging
import RenkeiCore
import RenkeiRuntime
import RenkeiStore
import Synchronization

/// Rewrites the metrics textfile off the loop, coalesced: a request while a write is under way
/// is done once after it, with the newest figures, however many came meanwhile. A failed write
/// is logged once until one succeeds again.
final class MetricsPublisher: Sendable {
    /// What a write needs to know besides the store.
    struct Request: Sendable {
        var textfile: String
        var jobs: [String]
        var daemonStart: Double
        var storeWritable: Bool
    }

    private struct State {
        var writing = false
        var next: Request?
        var failing = false
    }

    private let state = Mutex(State())
    let store: RunStore
    let logger: Logger

    init(store: RunStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func publish(_ request: Request) {
        let start = state.withLock { state -> Bool in
            state.next = request
            if state.writing { return false }
            state.writing = true
            return true
        }
        guard start else { return }
        // A store read and an fsync: on a thread that may block, not on the loop's executor.
        DispatchQueue.global(qos: .utility).async { self.drain() }
    }

    private func drain() {
        while let request = state.withLock({ state -> Request? in
            let next = state.next
            state.next = nil
            if next == nil { state.writing = false }
            return next
        }) {
            write(request)
        }
    }

    private func write(_ request: Request) {
        do {
            let figures = try store.figures(jobs: request.jobs)
            let text = MetricsExposition(jobs: figures, daemonStart: request.daemonStart, storeWritable: request.storeWritable).text
            try MetricsTextfile(path: request.textfile).write(text)
            let recovered = state.withLock { state in
                defer { state.failing = false }
                return state.failing
            }
            if recovered { logger.notice("the metrics file \(request.textfile) is written again") }
        } catch {
            let first = state.withLock { state in
                defer { state.failing = true }
                return !state.failing
            }
            if first {
                logger.event(.metricsNotWritten, .error, "\(error); Prometheus sees the figures stop changing until it can be written (tried again every minute)",
                             ["RENKEI_FILE": request.textfile])
            }
        }
    }
}
