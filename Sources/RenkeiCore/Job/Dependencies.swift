/// The chains between jobs: which jobs wait for which (`after:`). Pure: built from jobs already
/// loaded, with no files and no clock.
public struct Dependencies: Sendable {
    /// Each job's upstreams among the jobs given, in the order its `after:` names them.
    private let upstreams: [JobName: [JobName]]
    /// Each job's direct downstream jobs, in name order.
    private let downstreams: [JobName: [JobName]]

    public init(_ jobs: [Job]) {
        upstreams = Self.edges(jobs)
        var downstreams: [JobName: [JobName]] = [:]
        for (job, upstreams) in upstreams {
            for upstream in upstreams { downstreams[upstream, default: []].append(job) }
        }
        self.downstreams = downstreams.mapValues { $0.sorted() }
    }

    /// The jobs `job` waits for directly.
    public func upstream(of job: JobName) -> [JobName] { upstreams[job] ?? [] }

    /// Every job that waits for `job`, directly or through others, each after all of its own
    /// upstreams among them (name order where the chain leaves a choice): the order
    /// `rerun --downstream` runs them in. `job` itself is not in it.
    public func downstream(of job: JobName) -> [JobName] {
        var reached: Set<JobName> = []
        var pending = downstreams[job] ?? []
        while let next = pending.popLast() {
            if next != job, reached.insert(next).inserted { pending += downstreams[next] ?? [] }
        }
        var waitingFor = Dictionary(uniqueKeysWithValues: reached.map { name in
            (name, (upstreams[name] ?? []).filter { reached.contains($0) }.count)
        })
        var ready = reached.filter { waitingFor[$0] == 0 }.sorted()
        var order: [JobName] = []
        while !ready.isEmpty {
            let name = ready.removeFirst()
            order.append(name)
            for next in downstreams[name] ?? [] where reached.contains(next) {
                waitingFor[next]! -= 1
                if waitingFor[next] == 0 {
                    ready.insert(next, at: ready.firstIndex { $0 > next } ?? ready.endIndex)
                }
            }
        }
        // Only a cycle leaves names behind, and the loader never lets one through: last, in name order.
        order += reached.subtracting(order).sorted()
        return order
    }

    /// Each job's upstreams that are among `jobs`, leaving out a job naming itself.
    private static func edges(_ jobs: [Job]) -> [JobName: [JobName]] {
        let names = Set(jobs.map(\.name))
        var edges: [JobName: [JobName]] = [:]
        for job in jobs { edges[job.name] = job.after.filter { names.contains($0) && $0 != job.name } }
        return edges
    }
}

/// A job whose `after:` cannot be waited on, at the name in `after:` that shows why. Such a job
/// is not loaded: a chain that cannot run is an error when the files are checked, not a slot
/// waiting forever at 06:30.
public struct ChainProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// `after:` names a job there is no file for.
        case unknownUpstream(JobName, suggestion: JobName?)
        /// `after:` names the job itself.
        case selfReference
        /// The job waits for itself through others: the cycle from the job back to it.
        case cycle([JobName])
        /// `after:` names a job that did not load (its own problems, or its own chain's).
        case upstreamNotLoaded(JobName, file: String)
    }

    /// The job with the problem.
    public var job: JobName
    /// Its job file.
    public var file: String
    /// The name in `after:` the problem is about.
    public var position: SourcePosition
    public var kind: Kind

    public var message: String {
        switch kind {
        case .unknownUpstream(let name, let suggestion):
            "unknown job '\(name)' in 'after'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
                + ": name a job by its file name without .yaml"
        case .selfReference:
            "'\(job)' in 'after' is this job itself: a job cannot wait for its own run; remove it"
        case .cycle(let cycle):
            "'after' makes a cycle: \(cycle.map(\.rawValue).joined(separator: " → ")); each of these jobs would wait for itself, so none of them is loaded: remove one of the links"
        case .upstreamNotLoaded(let name, let upstreamFile):
            "'\(name)' in 'after' is not loaded (see the problems of \(upstreamFile)): this job would wait for it forever, so it is not loaded either"
        }
    }

    /// As `renkeictl check` prints it: `FILE:LINE:COL: error: MESSAGE`.
    public var fileProblem: JobFileProblem {
        JobFileProblem(file: file, line: position.line, column: position.column, message: message)
    }

    public var description: String { fileProblem.description }
}

extension Dependencies {
    /// A job named in `after:` that is not among the jobs checked.
    public enum OtherJob: Sendable, Equatable {
        /// Its file is there but was not asked to be checked (`renkeictl check FILE`): taken on trust.
        case notChecked
        /// Its file did not load, because of problems of its own.
        case notLoaded(file: String)
    }

    /// Every chain problem of `jobs` (each with its file): names in `after:` that are no job, the
    /// job itself, or a cycle (reported on each job of it); then, since their upstream will not
    /// load, every job downstream of one of those. In file order.
    public static func problems(of jobs: [(job: Job, file: String)], others: [JobName: OtherJob] = [:]) -> [ChainProblem] {
        var files: [JobName: String] = [:]
        for (job, file) in jobs { files[job.name] = file }
        let edges = edges(jobs.map(\.job))
        var problems: [ChainProblem] = []
        func position(_ job: Job, _ upstream: JobName) -> SourcePosition { job.positions.after[upstream] ?? .none }

        for (job, file) in jobs {
            for upstream in job.after where files[upstream] == nil || upstream == job.name {
                let kind: ChainProblem.Kind
                if upstream == job.name {
                    kind = .selfReference
                } else if let other = others[upstream] {
                    guard case .notLoaded(let upstreamFile) = other else { continue }
                    kind = .upstreamNotLoaded(upstream, file: upstreamFile)
                } else {
                    let known = Array(files.keys.map(\.rawValue)) + others.keys.map(\.rawValue)
                    kind = .unknownUpstream(upstream, suggestion: JobFileParser.closest(to: upstream.rawValue, in: known.sorted()).flatMap(JobName.init))
                }
                problems.append(ChainProblem(job: job.name, file: file, position: position(job, upstream), kind: kind))
            }
        }

        let byName = Dictionary(jobs.map { ($0.job.name, $0.job) }, uniquingKeysWith: { first, _ in first })
        for component in cyclicComponents(edges, order: jobs.map(\.job.name)) {
            let members = Set(component)
            for name in component.sorted() {
                guard let cycle = shortestCycle(through: name, within: members, edges: edges), let job = byName[name] else { continue }
                problems.append(ChainProblem(job: name, file: files[name]!, position: position(job, cycle[1]), kind: .cycle(cycle)))
            }
        }

        // Whoever waits for a job that will not load will not load either, down the whole chain.
        var broken = Set(problems.map(\.job))
        var downstream: [JobName: [JobName]] = [:]
        for (job, upstreams) in edges {
            for upstream in upstreams { downstream[upstream, default: []].append(job) }
        }
        var pending = Array(broken)
        var cascaded: Set<JobName> = []
        while let name = pending.popLast() {
            for next in downstream[name] ?? [] where broken.insert(next).inserted {
                cascaded.insert(next)
                pending.append(next)
            }
        }
        for (job, file) in jobs where cascaded.contains(job.name) {
            for upstream in edges[job.name] ?? [] where broken.contains(upstream) {
                problems.append(ChainProblem(job: job.name, file: file, position: position(job, upstream),
                                             kind: .upstreamNotLoaded(upstream, file: files[upstream]!)))
            }
        }
        return problems.enumerated().sorted { a, b in
            (a.element.file, a.element.position.line, a.element.position.column, a.offset)
                < (b.element.file, b.element.position.line, b.element.position.column, b.offset)
        }.map(\.element)
    }

    /// The strongly connected parts of more than one job (Tarjan's algorithm, without recursion so
    /// a long chain cannot run out of stack).
    private static func cyclicComponents(_ edges: [JobName: [JobName]], order: [JobName]) -> [[JobName]] {
        var index: [JobName: Int] = [:]
        var low: [JobName: Int] = [:]
        var stack: [JobName] = []
        var onStack: Set<JobName> = []
        var components: [[JobName]] = []
        var counter = 0
        func visit(_ name: JobName) {
            index[name] = counter
            low[name] = counter
            counter += 1
            stack.append(name)
            onStack.insert(name)
        }
        for root in order where index[root] == nil {
            visit(root)
            var work: [(name: JobName, next: Int)] = [(root, 0)]
            while var frame = work.popLast() {
                let successors = edges[frame.name] ?? []
                if frame.next < successors.count {
                    let successor = successors[frame.next]
                    frame.next += 1
                    work.append(frame)
                    if index[successor] == nil {
                        visit(successor)
                        work.append((successor, 0))
                    } else if onStack.contains(successor) {
                        low[frame.name] = min(low[frame.name]!, index[successor]!)
                    }
                    continue
                }
                if low[frame.name] == index[frame.name] {
                    var component: [JobName] = []
                    while let member = stack.popLast() {
                        onStack.remove(member)
                        component.append(member)
                        if member == frame.name { break }
                    }
                    if component.count > 1 { components.append(component) }
                }
                if let parent = work.last { low[parent.name] = min(low[parent.name]!, low[frame.name]!) }
            }
        }
        return components
    }

    /// The shortest way from `start` back to itself inside one cycle, as `[start, …, start]`,
    /// following each job's `after:` in the order written.
    private static func shortestCycle(through start: JobName, within members: Set<JobName>, edges: [JobName: [JobName]]) -> [JobName]? {
        var cameFrom: [JobName: JobName] = [:]
        var queue = [start]
        var head = 0
        while head < queue.count {
            let name = queue[head]
            head += 1
            for next in edges[name] ?? [] where members.contains(next) {
                if next == start {
                    var backwards = [start, name]
                    while let previous = cameFrom[backwards.last!] { backwards.append(previous) }
                    if backwards.last != start { backwards.append(start) }
                    return backwards.reversed()
                }
                if cameFrom[next] == nil && next != start {
                    cameFrom[next] = name
                    queue.append(next)
                }
            }
        }
        return nil
    }
}
