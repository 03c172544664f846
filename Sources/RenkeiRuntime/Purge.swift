import Foundation
import Logging
import RenkeiCore
import RenkeiStore

/// Retention: what is cleared of runs older than their job's `retention:` (else the daemon-wide
/// default), daily by renkeid and at `renkeictl purge`. Output tails and work directories go;
/// rows, states, error classes, file hashes and the audit stay. Failures nobody resolved stay
/// whole until they are.
public struct Purge: Sendable {
    /// The default when neither the job nor `renkeid --retention` says.
    public static let defaultRetention = JobDuration(seconds: 90 * 86_400)

    /// Job files, for their `retention:`.
    public var catalog: JobCatalog
    /// For jobs whose file says nothing, and for runs of jobs whose file is gone.
    public var defaultRetention: JobDuration
    public var store: RunStore
    public var state: StateDirectory

    public init(catalog: JobCatalog, defaultRetention: JobDuration, store: RunStore, state: StateDirectory) {
        self.catalog = catalog
        self.defaultRetention = defaultRetention
        self.store = store
        self.state = state
    }

    /// What one purge did (or, dry, would do).
    public struct Outcome: Sendable {
        public var dryRun: Bool
        public var runs: [PurgeableRun]
        /// Work directories deleted (or to delete).
        public var directories: [String]
        /// Work directories left alone, and why (outside STATE/work, a symlink, unreadable).
        public var refused: [(path: String, reason: String)]
        /// Jobs whose file does not load: their runs are kept until it does, since their
        /// `retention:` cannot be read.
        public var skippedJobs: [String]

        /// Runs per job, in name order.
        public var byJob: [(job: String, runs: Int)] {
            Dictionary(grouping: runs, by: \.job).map { ($0.key, $0.value.count) }.sorted { $0.job < $1.job }
        }

        /// One line for the journal, the audit and the terminal.
        public var summary: String {
            let verb = dryRun ? "would purge" : "purged"
            guard !runs.isEmpty else { return "\(verb) nothing: no finished run is past its retention" }
            let jobs = byJob.map { "\($0.job) \($0.runs)" }.joined(separator: ", ")
            return "\(verb) the output and work directories of \(runs.count) run(s) (\(jobs))"
        }
    }

    /// The cutoff of each job with a `retention:`; `now - defaultRetention` for the others.
    func cutoffs(now: Date) -> (defaultCutoff: Date, byJob: [String: Date], skipped: [String]) {
        var byJob: [String: Date] = [:]
        for loaded in catalog.jobs {
            let retention = loaded.job.retention ?? defaultRetention
            byJob[loaded.job.name.rawValue] = now.addingTimeInterval(-Double(retention.seconds))
        }
        // Jobs whose file is there but does not load: nothing is old enough.
        var skipped: [String] = []
        for problem in catalog.problems {
            let name = ((problem.file as NSString).lastPathComponent as NSString).deletingPathExtension
            if byJob[name] == nil { skipped.append(name) }
            byJob[name] = .distantPast
        }
        return (now.addingTimeInterval(-Double(defaultRetention.seconds)), byJob, Array(Set(skipped)).sorted())
    }

    /// Purges, or with `dryRun` only says what it would purge (and writes nothing). Deletes the work directories first, then clears the tails and marks
    /// the runs in one write — a crash in between leaves runs that the next purge finishes, never a
    /// directory nobody will delete. Appends one audit row by `requester` and logs one event.
    public func run(now: Date = Date(), dryRun: Bool, requester: AuditEntry, logger: Logger?) async throws -> Outcome {
        let (defaultCutoff, byJob, skipped) = cutoffs(now: now)
        let runs = try store.purgeableRuns(defaultCutoff: defaultCutoff, cutoffs: byJob)
        var outcome = Outcome(dryRun: dryRun, runs: runs, directories: [], refused: [], skippedJobs: skipped)
        let work = state.root + "/work"
        for directory in Set(runs.compactMap(\.workDirectory)).sorted() {
            if let reason = WorkDirectoryRemoval.refusal(directory, under: work) {
                outcome.refused.append((directory, reason))
                continue
            }
            guard !dryRun else { outcome.directories.append(directory); continue }
            do {
                try WorkDirectoryRemoval.remove(directory)
                outcome.directories.append(directory)
            } catch {
                outcome.refused.append((directory, "\(error)"))
            }
        }
        // A dry run writes nothing: no row, no audit, no event.
        guard !dryRun else { return outcome }
        if !runs.isEmpty {
            try await store.markPurged(runs, at: now)
        }
        var entry = requester
        entry.result = outcome.summary
        try await store.appendAudit(entry, runID: nil, at: now)
        if let logger {
            let level: Logger.Level = outcome.refused.isEmpty ? .info : .warning
            var message = outcome.summary
            if !outcome.refused.isEmpty {
                message += "; left \(outcome.refused.count) directory(ies) alone: "
                    + outcome.refused.map { "\($0.path) (\($0.reason))" }.joined(separator: ", ")
            }
            logger.event(.runsPurged, level, message, ["RENKEI_RUNS": String(runs.count)])
        }
        return outcome
    }
}

/// Deleting a run's work directory without ever leaving STATE/work: the path must be a real
/// directory below it, reached through no symlink, and symlinks inside are removed, not followed.
enum WorkDirectoryRemoval {
    /// Why `path` must not be deleted, or nil. A directory already gone is fine (nil, and `remove`
    /// does nothing).
    static func refusal(_ path: String, under work: String) -> String? {
        let standard = URL(fileURLWithPath: path).standardizedFileURL.path
        guard standard == path, path.hasPrefix(work + "/") else {
            return "not below \(work)"
        }
        let relative = path.dropFirst(work.count + 1).split(separator: "/")
        guard !relative.isEmpty, !relative.contains(where: { $0 == ".." || $0 == "." }) else { return "not below \(work)" }
        var current = work
        for component in relative {
            current += "/" + component
            var info = stat()
            if lstat(current, &info) != 0 {
                return errno == ENOENT ? nil : "cannot be examined: \(String(cString: strerror(errno)))"
            }
            if (info.st_mode & S_IFMT) == S_IFLNK { return "\(current) is a symbolic link, not followed" }
            if (info.st_mode & S_IFMT) != S_IFDIR { return "\(current) is not a directory" }
        }
        return nil
    }

    struct RemovalError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot delete \(path): \(reason)" }
    }

    /// Deletes `path` and what is in it; a symlink inside is unlinked, never followed.
    static func remove(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw RemovalError(path: path, reason: String(cString: strerror(errno)))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            // An owner-only-unreadable directory left by a step: let the owner in to empty it.
            if info.st_mode & 0o700 != 0o700 { _ = chmod(path, info.st_mode | 0o700) }
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw RemovalError(path: path, reason: (error as NSError).localizedDescription)
            }
            for entry in entries { try remove(path + "/" + entry) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw RemovalError(path: path, reason: String(cString: strerror(errno))) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw RemovalError(path: path, reason: String(cString: strerror(errno))) }
        }
    }
}
