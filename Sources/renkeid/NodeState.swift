import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import Synchronization

/// What the duties of a node on PostgreSQL share (`ClusterNode`): who it is (its incarnation
/// changes when it registers again), whether it may still write (its self-fence), the jobs as
/// loaded, and the runs it is running with their step processes — so the heartbeat can stop
/// them all at once.
final class NodeState: Sendable {
    struct Shared {
        var registration: NodeRegistration
        var fence: SelfFence<ContinuousClock.Instant>
        var jobs: [String: LoadedJob] = [:]
        /// Runs this node runs: their tasks and their steps' process groups.
        var runs: [Int64: (task: Task<Void, Never>?, processGroups: Set<Int32>)] = [:]
        /// Why each run's task may be cancelled: set by an operator's `renkeictl cancel`.
        var cancellations: [Int64: CancellationReason] = [:]
        var stopping = false
        /// Set by SIGHUP: the leader builds its calendar again from the new definitions.
        var jobsChanged = false
        /// Set when this node, leading, queued runs: its claims need not wait for their next poll.
        var runsQueued = false
    }

    let timings: ClusterTimings
    /// The HMAC key of the audit rows this node appends (`RENKEI_AUDIT_KEY`); nil: plain rows.
    let auditKey: [UInt8]?
    private let shared: Mutex<Shared>

    init(registration: NodeRegistration, timings: ClusterTimings, auditKey: [UInt8]? = nil) {
        self.timings = timings
        self.auditKey = auditKey
        shared = Mutex(Shared(registration: registration, fence: .registered(at: .now)))
    }

    func read<T>(_ body: (Shared) -> T) -> T { shared.withLock { body($0) } }
    func change<T>(_ body: (inout Shared) -> T) -> T { shared.withLock { body(&$0) } }

    var registration: NodeRegistration { read(\.registration) }
    var runCount: Int { read(\.runs.count) }
    var stopping: Bool { read(\.stopping) }

    /// Whether this node may write and keep its steps running now (`SelfFence.mayWrite`).
    var mayWrite: Bool {
        let timings = timings
        return read { $0.fence.mayWrite(at: .now, timings: timings) }
    }

    func runStarted(_ runID: Int64, task: Task<Void, Never>) {
        change { $0.runs[runID, default: (nil, [])].task = task }
    }

    func stepSpawned(_ runID: Int64, processGroup: Int32) {
        change { _ = $0.runs[runID, default: (nil, [])].processGroups.insert(processGroup) }
    }

    func runEnded(_ runID: Int64) {
        change { state in
            state.runs.removeValue(forKey: runID)
            state.cancellations.removeValue(forKey: runID)
        }
    }

    /// The object run `runID`'s request carries (`RunRequest.cancellation`), made on first ask.
    func cancellation(of runID: Int64) -> CancellationReason {
        change { state in
            if let reason = state.cancellations[runID] { return reason }
            let reason = CancellationReason()
            state.cancellations[runID] = reason
            return reason
        }
    }

    /// An operator's cancel of run `runID` (`renkeictl cancel` on any node): marks it cancelled
    /// by `user` and cancels its task, which stops its steps (SIGTERM, SIGKILL after the job's kill
    /// grace); the run is recorded `cancelled` by `user`. False: this node does not run it (now).
    func operatorCancels(_ runID: Int64, by user: String) -> Bool {
        guard let task = read({ $0.runs[runID]?.task }) else { return false }
        cancellation(of: runID).operatorCancels(user)
        task.cancel()
        return true
    }

    /// SIGTERM to every step, through its run's task: the executor sends it to the step's process
    /// group and SIGKILL after the job's kill grace.
    func terminateSteps() {
        for run in read({ Array($0.runs.values) }) { run.task?.cancel() }
    }

    /// SIGKILL to every step's process group, now.
    func killSteps() {
        for run in read({ Array($0.runs.values) }) {
            run.task?.cancel()
            for group in run.processGroups { _ = kill(-group, SIGKILL) }
        }
    }
}
