/// Which idle job's waiting run starts next: a binary heap of each idle job's first waiting run,
/// oldest due first, so that a loaded daemon (thousands of jobs, one waiting run each) finds the
/// next run to start without scanning every job. Entries go stale when their job starts a run
/// or its first waiting run changes; the scheduler checks each entry as it comes to the top and
/// drops stale ones.
struct DispatchOrder: Sendable {
    struct Entry: Comparable, Sendable {
        let dueAt: Instant
        let logicalTime: Instant
        let job: JobName

        static func < (a: Entry, b: Entry) -> Bool { (a.dueAt, a.logicalTime, a.job) < (b.dueAt, b.logicalTime, b.job) }
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ run: PlannedRun) {
        heap.append(Entry(dueAt: run.dueAt, logicalTime: run.logicalTime, job: run.job))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    var first: Entry? { heap.first }

    mutating func removeFirst() {
        guard !heap.isEmpty else { return }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    mutating func removeAll() { heap.removeAll() }
}
