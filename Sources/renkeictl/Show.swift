import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiPostgres
import RenkeiRuntime
import RenkeiStore

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run: its steps, its error and the end of each step's output.",
        discussion: """
            Reads the store directly (no daemon needed); with a PostgreSQL store (--store or \
            RENKEI_STORE) it reads the run from that database, whichever node ran it, and prints \
            the same as on SQLite.

            Example:
              renkeictl show 412
              renkeictl show 412 --lines 100
              renkeictl show 412 --store "postgresql:///renkei?host=/run/postgresql&user=renkei"
            """
    )

    @OptionGroup var location: LocationOptions

    @Option(name: .long, help: ArgumentHelp("A PostgreSQL store: read the run from the database (default: $RENKEI_STORE when it names PostgreSQL).", valueName: "URL"))
    var store: String?

    @Argument(help: ArgumentHelp("The run id (from 'renkeictl history').", valueName: "RUN"))
    var runID: Int64

    @Option(help: "Lines of each output tail to print (the store keeps the last 64 KiB).")
    var lines: Int = 20

    @Flag(help: "Print JSON, with the whole stored output tails.")
    var json = false

    func validate() throws {
        guard lines >= 0 else { throw ValidationError("--lines must be 0 or more") }
    }

    func run() async throws {
        let locations = location.locations
        let shown = try await read(locations)
        guard let stored = shown.run else {
            throw Failure(.noSuchJobOrRun, "no run \(runID) in \(shown.store) (see \(shown.history))")
        }
        let detail = stored.detail
        if json {
            var object = RunJSON(detail)
            object.notifications = stored.notifications.map(RunJSON.NotificationJSON.init)
            print(try JSONOutput.encode(object))
            return
        }
        let current = JobLoader.load(directory: locations.jobs).job(named: detail.run.job)?.job
        print(RunDetailText.render(detail, lines: lines, logOutput: current?.logOutput, currentDefinition: current?.definitionHash))
        if let purged = stored.purgedAt { print("output and work directory purged on \(RunSummary.localTime(purged)) (retention)") }
        if !stored.notifications.isEmpty { print(RunDetailText.notifications(stored.notifications)) }
    }

    /// What `show` prints of a run, from whichever store holds it.
    struct StoredRun {
        var detail: RunDetail
        var notifications: [RunStore.NotificationRow]
        var purgedAt: Date?
    }

    /// The run (nil when the store has none), the store it was looked for in, and the
    /// command that lists that store's runs.
    typealias Shown = (run: StoredRun?, store: String, history: String)

    /// From the PostgreSQL store that `--store`, `RENKEI_STORE` or renkei.yaml names, else from
    /// the SQLite store in `--state`.
    func read(_ locations: Locations) async throws -> Shown {
        if let address = try PostgresStoreChoice.address(store: store, command: "show") {
            do {
                let stored = try await PostgresSession.with(address, applicationName: "renkeictl show") { session in
                    try await PostgresRunDetail.read(session, runID: runID)
                }
                return (stored.map { StoredRun(detail: $0.detail, notifications: $0.notifications, purgedAt: $0.purgedAt) },
                        "\(address)", "renkeictl history --store '\(address)'")
            } catch let problem as PostgresProblem {
                throw PostgresStoreChoice.failure(problem, command: "show", address: address)
            }
        }
        let store = try openForReading(locations)
        guard let detail = try store.detail(runID: runID) else { return (nil, store.path, "'renkeictl history'") }
        return (StoredRun(detail: detail, notifications: try store.notifications(runID: runID), purgedAt: try store.purgedAt(runID: runID)),
                store.path, "'renkeictl history'")
    }
}

/// `show`'s text: what an operator reads when a link did not arrive.
enum RunDetailText {
    /// "notifications:" and one line per try: when, event, channel, to whom, how it went.
    static func notifications(_ rows: [RunStore.NotificationRow]) -> String {
        var text = ["notifications:"]
        for row in rows {
            let result = row.result == "ok" ? "sent" : "FAILED: \(SafeText.visible(row.message ?? ""))"
            let attempt = row.attempt > 1 ? " (attempt \(row.attempt))" : ""
            text.append("  \(RunSummary.localTime(row.at))  \(row.event) by \(row.channel) to \(SafeText.visible(row.recipients))\(attempt): \(result)")
        }
        return text.joined(separator: "\n")
    }

    static func render(_ detail: RunDetail, lines: Int, logOutput: Bool?, currentDefinition: String? = nil) -> String {
        let run = detail.run
        var text: [String] = []
        text.append("run \(run.id!) · \(run.job) · \(RunSummary.stateWord(run.state))")
        func field(_ name: String, _ value: String) { text.append("  " + name.padding(toLength: 14, withPad: " ", startingAt: 0) + value) }
        field("logical time", "\(run.logical.iso8601) (\(run.logical.date), \(run.logicalZone))")
        var trigger = "\(run.trigger.rawValue), attempt \(run.attempt)"
        if let user = run.requestedByUser { trigger += ", asked by \(user)" }
        field("trigger", SafeText.visible(trigger))
        if let reason = run.reason { field("reason", SafeText.visible(reason)) }
        if let rerunOf = run.rerunOf { field("rerun of", "run \(rerunOf)") }
        if let retryOf = run.retryOf { field("retry of", "run \(retryOf)") }
        field("queued", RunSummary.localTime(run.queuedAt))
        field("started", RunSummary.localTime(run.startedAt))
        field("finished", RunSummary.localTime(run.finishedAt) + (RunSummary.duration(run).map { " (took \($0))" } ?? ""))
        if let errorClass = run.errorClass {
            field("error", "[\(errorClass.rawValue)] \(SafeText.visible(run.errorMessage ?? ""))")
        }
        if run.state == .waiting, let message = run.errorMessage { field("waiting", SafeText.visible(message)) }
        // What the run was asked to do beyond its job: the file that started it, the step an
        // operator did by hand, a forced rerun, where a rerun began.
        let parameters = (try? JSONDecoder().decode([String: String].self, from: Data(run.parameters.utf8))) ?? [:]
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) { field(SafeText.visible(name.replacingOccurrences(of: "_", with: " ")), SafeText.visible(value)) }
        if let resolvedBy = run.resolvedBy { field("resolved by", "run \(resolvedBy) at \(RunSummary.localTime(run.resolvedAt))") }
        var definition = "sha256 \(run.definitionHash.prefix(16))…"
        if let currentDefinition, currentDefinition != run.definitionHash { definition += " (the job file has changed since this run)" }
        field("definition", definition)
        if let work = run.workDirectory { field("work dir", SafeText.visible(work)) }
        if logOutput == false { field("output", "kept out of the journal (log_output: false); only the tails below hold it") }

        text.append("")
        text.append("steps:")
        for step in detail.steps {
            var line = "  \(step.position + 1). \(SafeText.visible(step.name))  \(step.state.rawValue)"
            if let status = step.exitStatus { line += "  exit \(status)" }
            if let signal = step.signal { line += "  \(SignalName.describe(signal))" }
            if let started = step.startedAt, let finished = step.finishedAt {
                line += "  " + RunSummary.format(seconds: finished.timeIntervalSince(started))
            }
            text.append(line)
            if let arguments = JSONOutput.decodeArguments(step.command), step.state != .pending, step.state != .notRun {
                text.append("     $ " + SafeText.visible(arguments.map(shellQuoted).joined(separator: " ")))
            }
            if let message = step.message { text.append("     \(SafeText.visible(message))") }
            for file in detail.files where file.position == step.position {
                text.append("     " + fileLine(file))
            }
            for (name, tail, total) in [("stdout", step.stdoutTail, step.stdoutBytes), ("stderr", step.stderrTail, step.stderrBytes)] where total > 0 {
                let all = String(decoding: tail, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                let trimmed = all.last == "" ? all.dropLast() : all[...]
                let shown = trimmed.suffix(lines)
                let kept = total > Int64(tail.count) ? ", last \(tail.count) kept" : ""
                text.append("     \(name) (\(total) bytes\(kept); last \(shown.count) lines):")
                for outputLine in shown { text.append("       | \(SafeText.visible(String(outputLine)))") }
            }
        }
        if run.state.isFailure && run.resolvedBy == nil {
            text.append("")
            text.append("next: fix the cause, then run it again for the same logical time, from the failed step:")
            text.append("  renkeictl rerun \(run.id!) --reason \"…\" --wait        (renkeid stopped: renkeictl run \(run.job) --local --logical-time \(run.logical.iso8601))")
        }
        return text.joined(separator: "\n")
    }

    /// `received /srv/juki/outbox/IDO_20261201.csv → in/IDO_20261201.csv  1,234 bytes  sha256 ab12…`.
    static func fileLine(_ file: FileRecord) -> String {
        let size = "\(file.bytes.formatted()) bytes" + (file.records.map { ", \($0.formatted()) records" } ?? "")
        let hash = "sha256 \(file.sha256.prefix(16))…"
        let word = file.outcome.rawValue.replacingOccurrences(of: "_", with: " ")
        var line: String
        switch file.direction {
        case .received: line = "\(word) \(SafeText.visible(file.source ?? "?")) → \(SafeText.visible(file.path))"
        case .delivered: line = "\(word) \(SafeText.visible(file.path)) (from \(SafeText.visible(file.source ?? "?")))"
        case .checked: line = "\(word) \(SafeText.visible(file.path))"
        case .converted: line = "\(word) \(SafeText.visible(file.source ?? "?")) → \(SafeText.visible(file.path))"
        }
        line += "  \(size)  \(hash)"
        if let note = file.note { line += "\n       \(SafeText.visible(note))" }
        return line
    }

    static func shellQuoted(_ argument: String) -> String {
        let safe = argument.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./=:,+@%".unicodeScalars.contains($0) }
        return safe && !argument.isEmpty ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
