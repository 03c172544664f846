/// Turns a built-in step as the job file wrote it into the request its process carries out, for
/// one run: `{date:…}` and `{time:…}` of the logical time, then `${VAR}` of the run's
/// environment; relative paths under the run's work directory; `wait_until` as an instant.
public enum LinkStepResolution {
    /// What one run knows when its built-in step starts.
    public struct Context: Sendable {
        public var job: String
        public var runID: Int64?
        public var step: String
        public var logicalTime: LogicalTime
        public var environment: [String: String]
        public var workDirectory: String
        /// When the step starts, seconds since the epoch (`wait_until: 2h` counts from here).
        public var startedAt: Double
        public var force: Bool
        public var resultPath: String

        public init(job: String, runID: Int64?, step: String, logicalTime: LogicalTime, environment: [String: String], workDirectory: String,
                    startedAt: Double, force: Bool, resultPath: String) {
            self.job = job
            self.runID = runID
            self.step = step
            self.logicalTime = logicalTime
            self.environment = environment
            self.workDirectory = workDirectory
            self.startedAt = startedAt
            self.force = force
            self.resultPath = resultPath
        }
    }

    public static func request(for step: LinkStep, in context: Context, receipts: [LinkRequest.Receipt]) throws(VariableExpansion.Problem) -> LinkRequest {
        var request = LinkRequest(job: context.job, runID: context.runID, step: context.step, logicalDate: context.logicalTime.date,
                                  workDirectory: context.workDirectory, receipts: receipts, force: context.force, resultPath: context.resultPath)
        switch step {
        case .receive(let receive):
            var resolved = LinkRequest.Receive(directory: try path(receive.from, context), pattern: try text(receive.file, context),
                                               take: receive.take, onDuplicate: receive.onDuplicate)
            switch receive.completeWhen {
            case .doneFile(let name): resolved.doneFilePattern = try text(name, context)
            case .stable(let duration): resolved.stableForSeconds = Double(duration.seconds)
            }
            switch receive.waitUntil {
            case nil: break
            case .at(let time):
                resolved.waitUntil = Double(instant(of: time, on: context.logicalTime))
                resolved.waitUntilText = "\(time)"
            case .after(let duration):
                resolved.waitUntil = context.startedAt + Double(duration.seconds)
                resolved.waitUntilText = "\(duration) after the step started (\(String(LogicalTime.iso8601(Int64(resolved.waitUntil!), in: zone(context.logicalTime)).dropFirst(11).prefix(8))))"
            }
            request.receive = resolved
        case .deliver(let deliver):
            let source = try path(deliver.file, context)
            var name = String(source.split(separator: "/").last ?? "")
            if let written = deliver.name { name = try text(written, context) }
            var doneFileName: String?
            if let written = deliver.doneFile { doneFileName = try text(written, context) }
            request.deliver = LinkRequest.Deliver(source: source, directory: try path(deliver.to, context), name: name, ifExists: deliver.ifExists,
                                                  generations: deliver.generations, doneFileName: doneFileName, mode: deliver.mode)
        case .check(let check):
            var count = check.count
            if case .controlFile(let file) = check.count { count = .controlFile(try path(file, context)) }
            var sum = check.sum
            if case .controlFile(let file)? = check.sum?.declared { sum?.declared = .controlFile(try path(file, context)) }
            var resolved = check
            resolved.file = try path(check.file, context)
            resolved.count = count
            resolved.sum = sum
            request.check = resolved
        case .convert(let convert):
            request.convert = LinkRequest.Convert(source: try path(convert.file, context), target: try path(convert.to, context), from: convert.from,
                                                  toEncoding: convert.toEncoding, newline: convert.newline, unmappable: convert.unmappable,
                                                  substitutions: convert.substitutions)
        }
        return request
    }

    /// The instant of a local time on the logical time's date, in its zone.
    public static func instant(of time: TimeOfDay, on logical: LogicalTime) -> Int64 {
        var clock = WallClock(zone: zone(logical))
        let local = clock.localTime(logical.epochSeconds)
        var fields = BrokenDownTime(year: local.year, month: local.month, day: local.day, hour: time.hour, minute: time.minute, second: time.second)
        return clock.makeTime(&fields)
    }

    private static func zone(_ logical: LogicalTime) -> ZoneRules { ZoneRules.named(logical.zoneIdentifier) ?? .utc }

    private static func text(_ written: String, _ context: Context) throws(VariableExpansion.Problem) -> String {
        // The job file was checked when it was loaded, so the pattern parses.
        let filled = (try? FilePattern(written))?.filled(for: context.logicalTime) ?? written
        var lookup = context.environment
        if lookup[RunEnvironment.rerunVariable] == nil { lookup[RunEnvironment.rerunVariable] = "" }
        return try VariableExpansion.expand(filled, from: lookup)
    }

    private static func path(_ written: String, _ context: Context) throws(VariableExpansion.Problem) -> String {
        let resolved = try text(written, context)
        return normalized(resolved.hasPrefix("/") ? resolved : context.workDirectory + "/" + resolved)
    }

    /// `/state/work/j/7/../../../sim/outbox` as `/state/sim/outbox`: `.` and `..` taken away by
    /// their names, as the operator reads the path (messages, `show`, the file table).
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
