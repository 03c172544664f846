import Foundation
import RenkeiCore

/// A job together with the file it came from.
public struct LoadedJob: Sendable {
    public var job: Job
    /// The job file's path as given.
    public var file: String
    /// Relative program paths in `run` (`bin/export.sh`) are looked up here.
    public var directory: String { (file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent }
}

/// Every job of a directory or list of files, and every problem found. A bad file never stops
/// the others from loading.
public struct JobCatalog: Sendable {
    public var jobs: [LoadedJob] = []
    public var problems: [JobFileProblem] = []
    /// Files that were not loaded but may have been meant to be (`*.yml`).
    public var notes: [String] = []

    public func job(named name: String) -> LoadedJob? { jobs.first { $0.job.name.rawValue == name } }
}

public enum JobLoader {
    /// Loads every `*.yaml` in `directory` (not below it), in name order.
    public static func load(directory: String, trust: FileTrust = FileTrust()) -> JobCatalog {
        var catalog = JobCatalog()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            catalog.problems.append(JobFileProblem(file: directory, line: 0, column: 0, message: "no jobs directory here: give one with --jobs or RENKEI_JOBS"))
            return catalog
        }
        if let problem = trust.problem(with: directory, isDirectory: true)
            ?? trust.pathProblem(directory, refusing: "the jobs directory \(directory)",
                                 consequence: "whoever can write there could add or replace job files and make Renkei run any command") {
            catalog.problems.append(JobFileProblem(file: directory, line: 0, column: 0, message: problem))
            return catalog
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            catalog.problems.append(JobFileProblem(file: directory, line: 0, column: 0, message: "cannot list the jobs directory: \((error as NSError).localizedDescription)"))
            return catalog
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        var attempts: [(path: String, result: Result<LoadedJob, JobFileFailure>)] = []
        for entry in entries where !entry.hasPrefix(".") {
            if entry.hasSuffix(".yaml") {
                attempts.append((base + entry, loadFile(base + entry, trust: trust)))
            } else if entry.hasSuffix(".yml") {
                catalog.notes.append("\(base + entry): not loaded: job files end in .yaml (rename it to \(entry.dropLast(4)).yaml)")
            }
        }
        catalog.assemble(attempts, trust: trust, lookBeside: false)
        return catalog
    }

    /// Loads the given files, whatever their directory. A job named in `after:` that is not among
    /// them is looked for beside the file that names it, and taken on trust if its file is there:
    /// only the whole directory shows every cycle.
    public static func load(files: [String], trust: FileTrust = FileTrust()) -> JobCatalog {
        var catalog = JobCatalog()
        catalog.assemble(files.map { ($0, loadFile($0, trust: trust)) }, trust: trust, lookBeside: true)
        return catalog
    }

    /// The job a file's name stands for, if it names one.
    static func jobName(ofFile path: String) -> JobName? {
        let fileName = (path as NSString).lastPathComponent
        guard fileName.hasSuffix(".yaml") else { return nil }
        return JobName(String(fileName.dropLast(".yaml".count)))
    }

    /// Reads, checks and parses one job file. What needs the other jobs (`after:`) or the file
    /// system beyond the job file (`trigger.path`) is checked by `load`.
    public static func loadFile(_ path: String, trust: FileTrust = FileTrust()) -> Result<LoadedJob, JobFileFailure> {
        func failure(_ message: String) -> Result<LoadedJob, JobFileFailure> {
            .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: 0, column: 0, message: message)]))
        }
        let fileName = (path as NSString).lastPathComponent
        guard fileName.hasSuffix(".yaml") else { return failure("a job file's name ends in .yaml") }
        var status = stat()
        guard stat(path, &status) == 0 else { return failure("cannot read: \(String(cString: strerror(errno)))") }
        guard status.st_mode & S_IFMT == S_IFREG else { return failure("not a regular file") }
        if let problem = trust.problem(with: path) ?? trust.pathProblem(path, refusing: path, consequence: FileTrust.jobFileConsequence) {
            return failure(problem)
        }
        let bytes: [UInt8]
        switch readBytes(path) {
        case .success(let read): bytes = read
        case .failure(let failure): return .failure(failure)
        }
        let name = String(fileName.dropLast(".yaml".count))
        let directory = (path as NSString).deletingLastPathComponent
        let base = directory.isEmpty ? "." : directory
        return JobFileParser.parse(file: path, name: name, bytes: bytes, readClosedDayFile: { closedDayFile in
            readClosedDayFile(closedDayFile, relativeTo: base, trust: trust)
        }, readCompanionFile: { name in
            readCompanionFile(name, relativeTo: base, trust: trust)
        }).map { LoadedJob(job: $0, file: path) }
    }

    /// A file of extra closed dates named in `closed_days`; a relative path is taken from the job
    /// file's directory.
    /// It decides which days the job runs, so its path is held as strictly as a job file's.
    static func readClosedDayFile(_ name: String, relativeTo directory: String, trust: FileTrust = FileTrust()) -> Result<Set<JapaneseHolidays.Day>, ClosedDayFileError> {
        let path = name.hasPrefix("/") ? name : directory + "/" + name
        if FileManager.default.fileExists(atPath: path),
           let problem = trust.pathProblem(path, refusing: "the closed-day file \(path)",
                                           consequence: "whoever can write there could change the days this job runs") {
            return .failure(.refused(path, problem))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read it" : "no such file"
            return .failure(.unreadable(path, reason))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(.invalid(path, ClosedDays.FileProblem(line: 1, column: 1, message: "not UTF-8 text")))
        }
        return ClosedDays.parseDates(text).mapError { .invalid(path, $0) }
    }

    /// A file a job names beside it (a substitution table), as UTF-8 text.
    /// It changes the data the job delivers, so its path is held as strictly as a job file's.
    static func readCompanionFile(_ name: String, relativeTo directory: String, trust: FileTrust = FileTrust()) -> Result<(path: String, text: String), CompanionFileError> {
        let path = name.hasPrefix("/") ? name : directory + "/" + name
        if FileManager.default.fileExists(atPath: path),
           let problem = trust.pathProblem(path, refusing: "the substitution table \(path)",
                                           consequence: "whoever can write there could change what this job writes into the data it delivers") {
            return .failure(CompanionFileError(problem, refused: true))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(CompanionFileError(FileManager.default.fileExists(atPath: path) ? "\(path): cannot read it" : "\(path): no such file"))
        }
        guard let text = String(data: data, encoding: .utf8) else { return .failure(CompanionFileError("\(path): not UTF-8 text")) }
        return .success((path, text))
    }

    private static func readBytes(_ path: String) -> Result<[UInt8], JobFileFailure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            return .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: 0, column: 0, message: "cannot read: \(reason) (Renkei runs as \(FileTrust.userName(geteuid()) ?? "uid \(geteuid())"); chmod u+r, or chown the file to that user)")]))
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                return .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: 0, column: 0, message: "cannot read: \(reason)")]))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > 1 << 20 {
                return .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: 0, column: 0, message: "larger than 1 MiB: is this really a job file?")]))
            }
        }
        return .success(bytes)
    }
}

extension JobCatalog {
    /// Adds the jobs of the files tried, then refuses the jobs whose trigger directory anyone may
    /// write, and the jobs whose chain cannot run (see `Dependencies.problems`), each as a
    /// problem of its file.
    mutating func assemble(_ attempts: [(path: String, result: Result<LoadedJob, JobFileFailure>)], trust: FileTrust, lookBeside: Bool) {
        var others: [JobName: Dependencies.OtherJob] = [:]
        for (path, tried) in attempts {
            var result = tried
            if case .success(let loaded) = tried, let trigger = loaded.job.trigger {
                let position = loaded.job.positions.triggerPath ?? .none
                switch trust.triggerDirectoryFinding(trigger.path) {
                case .note(let text)?:
                    notes.append("\(path):\(max(position.line, 1)):\(max(position.column, 1)): \(text)")
                case .problem(let text)?:
                    result = .failure(JobFileFailure(problems: [JobFileProblem(file: path, line: position.line, column: position.column, message: text)]))
                case nil:
                    break
                }
            }
            if case .failure = result, let name = JobLoader.jobName(ofFile: path), others[name] == nil {
                others[name] = .notLoaded(file: path)
            }
            add(result)
        }
        let loaded = Set(jobs.map(\.job.name))
        for name in loaded { others[name] = nil }
        if lookBeside {
            for job in jobs {
                for upstream in job.job.after where !loaded.contains(upstream) && others[upstream] == nil {
                    if FileManager.default.fileExists(atPath: job.directory + "/" + upstream.rawValue + ".yaml") { others[upstream] = .notChecked }
                }
            }
        }
        let chainProblems = Dependencies.problems(of: jobs.map { ($0.job, $0.file) }, others: others)
        guard !chainProblems.isEmpty else { return }
        let refused = Set(chainProblems.map(\.job))
        jobs.removeAll { refused.contains($0.job.name) }
        problems += chainProblems.map(\.fileProblem)
    }

    mutating func add(_ result: Result<LoadedJob, JobFileFailure>) {
        switch result {
        case .success(let loaded):
            if let other = job(named: loaded.job.name.rawValue) {
                problems.append(JobFileProblem(file: loaded.file, line: 0, column: 0, message: "a job named \(loaded.job.name) is already defined in \(other.file)"))
            } else {
                jobs.append(loaded)
            }
        case .failure(let failure):
            problems.append(contentsOf: failure.problems)
        }
    }
}
