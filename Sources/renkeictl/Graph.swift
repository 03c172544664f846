import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Show the chains between jobs (after:) and how each job did for one business date.",
        discussion: """
            Reads the job files and the store directly (no daemon needed). Each job shows its newest \
            run whose logical date, in the job's own zone, is DATE: succeeded, failed (with its \
            error class), waiting for its upstreams, running, or not run. A job is listed under the \
            jobs it waits for; a job that waits for two appears under each, the second time marked \
            "(see above)". Jobs in no chain are counted at the end (--all lists them).

            Examples:
              renkeictl graph                           # today, in the terminal
              renkeictl graph --date 2026-12-01
              renkeictl graph --format dot | dot -Tsvg -o chains.svg
              renkeictl graph --json | jq '.nodes[] | select(.state == "failed")'
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, dot }

    @OptionGroup var location: LocationOptions

    @Option(help: ArgumentHelp("The business date, YYYY-MM-DD (default: today in the machine's zone).", valueName: "DATE"))
    var date: String?

    @Option(help: "text, or dot (Graphviz).")
    var format: Format = .text

    @Flag(help: "Print JSON: every job with its state (nodes) and the links between them (edges).")
    var json = false

    @Flag(help: "Also list the jobs that are in no chain (text and dot).")
    var all = false

    func validate() throws {
        if json && format != .text { throw ValidationError("--json and --format do not go together") }
        if let date, date.wholeMatch(of: #/\d{4}-\d{2}-\d{2}/#) == nil {
            throw ValidationError("--date: '\(date)' is not a date: write 2026-12-01")
        }
    }

    func run() throws {
        let machineZone = MachineTimeZone.identifier
        let day: String
        if let date {
            do { day = try LogicalTime.parse(date, zoneIdentifier: machineZone).date } catch { throw Failure(.usage, "--date: \(error)") }
        } else {
            day = LogicalTime(epochSeconds: Int64(Date().timeIntervalSince1970), zoneIdentifier: machineZone).date
        }
        let jobsDirectory = location.locations.jobs
        let catalog = JobLoader.load(directory: jobsDirectory)
        if catalog.jobs.isEmpty {
            for problem in catalog.problems { FileHandle.standardError.write(Data("\(SafeText.visibleLines("\(problem)"))\n".utf8)) }
            throw Failure(.usage, catalog.problems.isEmpty ? "no job files (*.yaml) in \(jobsDirectory)" : "no job loaded from \(jobsDirectory)")
        }
        let notLoaded = Set(catalog.problems.map(\.file)).count
        if notLoaded > 0 {
            FileHandle.standardError.write(Data("renkeictl: note: \(notLoaded) job file\(notLoaded == 1 ? "" : "s") with problems left out; renkeictl check shows them\n".utf8))
        }

        var ranges: [String: Range<Int64>] = [:]
        for loaded in catalog.jobs {
            let zone = loaded.job.timezone ?? machineZone
            guard let start = try? LogicalTime.parse(day, zoneIdentifier: zone).epochSeconds else { continue }
            // Wide enough for the date in any zone a run of the job was recorded with; `belongs` decides.
            ranges[loaded.job.name.rawValue] = (start - 86_400)..<(start + 2 * 86_400)
        }
        let state = StateDirectory(location.locations.state)
        var runs: [String: RunRecord] = [:]
        // No store yet: every job "not run". One this user may not reach is exit 4, not that.
        var status = stat()
        if stat(state.database, &status) == 0 || errno != ENOENT {
            let store = try openForReading(location.locations)
            runs = try store.newestRuns(ranges) { $0.logical.date == day }
        }

        let chart = ChainChart(catalog: catalog, runs: runs, day: day, zone: machineZone)
        if json {
            print(try JSONOutput.encode(chart.json))
        } else if format == .dot {
            print(chart.dot(all: all), terminator: "")
        } else {
            print(chart.text(all: all), terminator: "")
        }
    }
}

/// The job catalog as a chart of its chains for one business date, in the three forms `graph`
/// prints. Pure: the runs are read before.
struct ChainChart {
    struct Node {
        var job: Job
        /// The zone its dates and times are read in.
        var zone: String
        var upstreams: [JobName]
        var downstreams: [JobName]
        /// Its newest run for the date, if any.
        var run: RunRecord?
        var chained: Bool { !upstreams.isEmpty || !downstreams.isEmpty }
    }

    /// One line of the text tree.
    struct Line {
        var prefix: String
        var name: JobName
        var seeAbove: Bool
    }

    let day: String
    let zone: String
    let nodes: [JobName: Node]
    /// Chained jobs, roots first, each before the jobs that wait for it.
    let chainOrder: [JobName]
    let unchained: [JobName]
    let tree: [Line]

    init(catalog: JobCatalog, runs: [String: RunRecord], day: String, zone: String) {
        self.day = day
        self.zone = zone
        let jobs = catalog.jobs.map(\.job)
        let dependencies = Dependencies(jobs)
        var downstreams: [JobName: [JobName]] = [:]
        for job in jobs {
            for upstream in dependencies.upstream(of: job.name) { downstreams[upstream, default: []].append(job.name) }
        }
        var nodes: [JobName: Node] = [:]
        for job in jobs {
            nodes[job.name] = Node(job: job, zone: job.timezone ?? zone, upstreams: dependencies.upstream(of: job.name),
                                   downstreams: (downstreams[job.name] ?? []).sorted(), run: runs[job.name.rawValue])
        }
        self.nodes = nodes
        let names = jobs.map(\.name).sorted()
        let roots = names.filter { nodes[$0]!.chained && nodes[$0]!.upstreams.isEmpty }
        unchained = names.filter { !nodes[$0]!.chained }

        var tree: [Line] = []
        var shown: Set<JobName> = []
        func walk(_ name: JobName, prefix: String, childPrefix: String) {
            let first = shown.insert(name).inserted
            tree.append(Line(prefix: prefix, name: name, seeAbove: !first))
            guard first else { return }
            let children = nodes[name]!.downstreams
            for (index, child) in children.enumerated() {
                let last = index == children.count - 1
                walk(child, prefix: childPrefix + (last ? "└─ " : "├─ "), childPrefix: childPrefix + (last ? "   " : "│  "))
            }
        }
        for root in roots { walk(root, prefix: "", childPrefix: "") }
        self.tree = tree
        var order: [JobName] = []
        for root in roots where !order.contains(root) {
            order.append(root)
            for next in dependencies.downstream(of: root) where !order.contains(next) { order.append(next) }
        }
        // A job is placed only after all its upstreams: a later root may feed a job already placed.
        chainOrder = Self.dependencyOrder(order, nodes)
    }

    /// `order` rearranged so that every job comes after its upstreams, keeping `order` otherwise.
    static func dependencyOrder(_ order: [JobName], _ nodes: [JobName: Node]) -> [JobName] {
        var placed: [JobName] = [], done: Set<JobName> = []
        var pending = order
        while !pending.isEmpty {
            guard let index = pending.firstIndex(where: { nodes[$0]!.upstreams.allSatisfy(done.contains) }) else {
                placed += pending
                break
            }
            let next = pending.remove(at: index)
            placed.append(next)
            done.insert(next)
        }
        return placed
    }

    // MARK: - Words

    /// The state as the operator says it; failures of every kind are "failed", the class says how.
    static func stateWord(_ run: RunRecord?) -> String {
        guard let run else { return "not run" }
        return run.state.isFailure ? "failed" : run.state.rawValue
    }

    /// The state in JSON: the store's word, or `not_run`.
    static func stateKey(_ run: RunRecord?) -> String { run?.state.rawValue ?? "not_run" }

    static func errorClass(_ run: RunRecord) -> String {
        (run.errorClass ?? (run.state == .timedOut ? .timeout : run.state == .interrupted ? .interrupted : .exit)).rawValue
    }

    /// `06:31`, or `12-02 06:31` when the time is not on the business date, in the node's zone.
    func clock(_ date: Date?, _ node: Node) -> String? {
        guard let date else { return nil }
        let local = LogicalTime(epochSeconds: Int64(date.timeIntervalSince1970), zoneIdentifier: node.zone)
        let iso = local.iso8601
        let time = String(iso.dropFirst(11).prefix(5))
        let shown = local.date == day ? time : String(iso.dropFirst(5).prefix(5)) + " " + time
        return shown + (node.zone == zone ? "" : " (\(node.zone))")
    }

    /// What follows the run id: when it ended or started, or why it failed or waits.
    func detail(_ node: Node) -> String {
        guard let run = node.run else { return "" }
        switch run.state {
        case .succeeded:
            return clock(run.finishedAt, node) ?? ""
        case .running:
            return clock(run.startedAt, node).map { "since \($0)" } ?? ""
        case .queued:
            return clock(run.queuedAt, node).map { "queued at \($0)" } ?? ""
        case .waiting:
            let missing = node.upstreams.filter { nodes[$0]?.run?.state != .succeeded }.map(\.rawValue)
            let until = Date(timeIntervalSince1970: TimeInterval(run.logicalTime + node.job.afterWait.seconds))
            return (missing.isEmpty ? "" : "for " + missing.joined(separator: ", ") + " ") + "until " + (clock(until, node) ?? "")
        case .failed, .timedOut, .interrupted:
            var message = (run.errorMessage ?? "").split(separator: "\n").first.map(String.init) ?? ""
            // "upstream not done for 2026-12-01 after waiting 2h: juki-export failed (…)": the date
            // is on the first line already; the names are what matters.
            if run.errorClass == .upstream, message.hasPrefix("upstream not done"), let colon = message.range(of: ": ") {
                message = String(message[colon.upperBound...])
            }
            return "(\(Self.errorClass(run))" + (message.isEmpty ? "" : ": \(message)") + ")"
        case .cancelled, .missed, .skipped:
            return (run.errorMessage ?? "").split(separator: "\n").first.map { "(\($0))" } ?? ""
        }
    }

    // MARK: - Text

    static let width = 80

    func text(all: Bool) -> String {
        var out = ["\(day) (\(zone))"]
        if tree.isEmpty {
            out.append("no job waits for another: none of the \(nodes.count) job\(nodes.count == 1 ? "" : "s") has 'after:'")
        }
        let listed = tree.map { ($0.prefix, $0.name, $0.seeAbove) } + (all ? unchained.map { ("  ", $0, false) } : [])
        let nameWidth = min(max((listed.map { ReportFormats.width($0.0) + $0.1.rawValue.count }.max() ?? 0) + 2, 20), 40)
        let runWidth = (nodes.values.compactMap { $0.run?.id }.map { "run \($0)".count }.max() ?? 0) + 2
        func line(_ prefix: String, _ name: JobName, seeAbove: Bool) -> String {
            let label = Self.fit(prefix + name.rawValue, nameWidth - 1)
            let head = Self.pad(label, nameWidth)
            if seeAbove { return head + "(see above)" }
            let node = nodes[name]!
            let state = Self.pad(Self.stateWord(node.run), 11)
            guard let run = node.run else { return Self.trimmed(head + state) }
            let start = head + state + Self.pad("run \(run.id!)", runWidth)
            let room = Self.width - ReportFormats.width(start)
            return Self.trimmed(start + Self.fit(SafeText.visible(detail(node)), max(room, 12)))
        }
        for entry in tree { out.append(line(entry.prefix, entry.name, seeAbove: entry.seeAbove)) }
        if !unchained.isEmpty {
            if all {
                out.append("not in a chain")
                for name in unchained { out.append(line("  ", name, seeAbove: false)) }
            } else {
                let count = unchained.count
                out.append("\(count) job\(count == 1 ? "" : "s") not in a chain (--all lists \(count == 1 ? "it" : "them"))")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Without the padding at the end (the tree's indent at the start stays).
    static func trimmed(_ text: String) -> String {
        String(text[..<(text.lastIndex { $0 != " " }.map(text.index(after:)) ?? text.startIndex)])
    }

    static func pad(_ text: String, _ columns: Int) -> String {
        let used = ReportFormats.width(text)
        return used >= columns ? text + " " : text + String(repeating: " ", count: columns - used)
    }

    /// Cut to `columns` display columns, with `…` when something was cut.
    static func fit(_ text: String, _ columns: Int) -> String {
        guard ReportFormats.width(text) > columns else { return text }
        var out = ""
        for character in text {
            if ReportFormats.width(out + String(character)) > columns - 1 { break }
            out.append(character)
        }
        return out + "…"
    }

    // MARK: - Graphviz

    func dot(all: Bool) -> String {
        func quote(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        var out = ["digraph renkei {",
                   "  label=\(quote("\(day) (\(zone))")); labelloc=t;",
                   "  node [shape=box, style=rounded, fontname=\"sans-serif\"];"]
        for name in chainOrder + (all ? unchained : []) {
            let node = nodes[name]!
            var state = Self.stateWord(node.run)
            if let run = node.run {
                if run.state.isFailure { state += " (\(Self.errorClass(run)))" }
                state += ", run \(run.id!)"
            }
            var attributes = ["label=" + quote(name.rawValue + "\n" + state)]
            switch node.run?.state {
            case let end? where end.isFailure: attributes += ["color=red", "fontcolor=red"]
            case .succeeded?: attributes += ["color=darkgreen"]
            case .waiting?, .running?, .queued?: attributes += ["color=orange"]
            default: attributes += ["color=gray50", "fontcolor=gray30"]
            }
            out.append("  \(quote(name.rawValue)) [\(attributes.joined(separator: ", "))];")
        }
        for name in chainOrder {
            for downstream in nodes[name]!.downstreams { out.append("  \(quote(name.rawValue)) -> \(quote(downstream.rawValue));") }
        }
        out.append("}")
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: - JSON

    struct NodeJSON: Encodable {
        var job: String
        var timezone: String
        var after: [String]
        var chained: Bool
        var state: String
        var run: Int64?
        var logicalTime: String?
        var errorClass: String?
        var error: String?
        var startedAt: String?
        var finishedAt: String?

        enum CodingKeys: String, CodingKey {
            case job, timezone, after, chained, state, run, error
            case logicalTime = "logical_time", errorClass = "error_class", startedAt = "started_at", finishedAt = "finished_at"
        }

        /// Every field, null when there is nothing to say, so a script finds the same keys on each node.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(job, forKey: .job)
            try container.encode(timezone, forKey: .timezone)
            try container.encode(after, forKey: .after)
            try container.encode(chained, forKey: .chained)
            try container.encode(state, forKey: .state)
            try container.encode(run, forKey: .run)
            try container.encode(logicalTime, forKey: .logicalTime)
            try container.encode(errorClass, forKey: .errorClass)
            try container.encode(error, forKey: .error)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(finishedAt, forKey: .finishedAt)
        }
    }

    struct EdgeJSON: Encodable {
        var from: String
        var to: String
    }

    struct ChartJSON: Encodable {
        var date: String
        var timezone: String
        var nodes: [NodeJSON]
        var edges: [EdgeJSON]
    }

    /// Every job (chained ones first, in dependency order), and one edge per `after:` link.
    var json: ChartJSON {
        let nodeList = (chainOrder + unchained).map { name -> NodeJSON in
            let node = nodes[name]!
            let run = node.run
            return NodeJSON(job: name.rawValue, timezone: node.zone, after: node.upstreams.map(\.rawValue), chained: node.chained,
                            state: Self.stateKey(run), run: run?.id, logicalTime: run?.logical.iso8601,
                            errorClass: run.flatMap { $0.state.isFailure ? Self.errorClass($0) : $0.errorClass?.rawValue },
                            error: run.flatMap { $0.state.isFailure ? $0.errorMessage : nil },
                            startedAt: RunSummary.isoTime(run?.startedAt), finishedAt: RunSummary.isoTime(run?.finishedAt))
        }
        let edges = chainOrder.flatMap { name in nodes[name]!.downstreams.map { EdgeJSON(from: name.rawValue, to: $0.rawValue) } }
        return ChartJSON(date: day, timezone: zone, nodes: nodeList, edges: edges)
    }
}
