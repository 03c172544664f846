import Foundation
import RenkeiCore
import RenkeiStore

/// The two files between a run and one of its built-in steps: the request the runner writes
/// before starting `renkeictl link-step`, and the answer the step leaves. They live in the work
/// directory's `.renkei/`, named by run and step, so a rerun reusing the directory keeps both runs'.
public struct LinkStepFiles: Sendable {
    public let requestPath: String
    public let resultPath: String

    /// `renkeictl` beside the running program (renkeid and renkeictl are installed together).
    public static var defaultHelper: String {
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("renkeictl").path
    }

    /// The files of step `name` (at `position`) of run `runID` (nil: a step tried by hand).
    public init(workDirectory: String, runID: Int64?, position: Int, step name: String) {
        let base = "\(workDirectory)/.renkei/\(runID.map(String.init) ?? "by-hand")-\(position + 1)-\(name)"
        requestPath = base + ".request.json"
        resultPath = base + ".result.json"
    }

    /// What the store is asked for before a step of this kind runs (nothing for check and convert).
    public static func receiptDirection(of step: LinkStep) -> LinkFile.Direction? {
        switch step {
        case .receive: .received
        case .deliver: .delivered
        case .check, .convert: nil
        }
    }

    /// Resolves the step for `context` and writes its request (and removes an old answer).
    public func write(_ step: LinkStep, context: LinkStepResolution.Context, receipts: [LinkRequest.Receipt]) throws -> LinkRequest {
        try FileManager.default.createDirectory(atPath: (requestPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try? FileManager.default.removeItem(atPath: resultPath)
        var context = context
        context.resultPath = resultPath
        let request = try LinkStepResolution.request(for: step, in: context, receipts: receipts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(request).write(to: URL(fileURLWithPath: requestPath))
        return request
    }

    /// Prepares step `name` of a run: its receipts from the store, then its request.
    static func prepare(_ step: LinkStep, step name: String, position: Int, run: RunRecord, environment: [String: String],
                        workDirectory: String, force: Bool, records: any RunRecords) async throws -> LinkStepFiles {
        let files = LinkStepFiles(workDirectory: workDirectory, runID: run.id, position: position, step: name)
        let context = LinkStepResolution.Context(
            job: run.job, runID: run.id, step: name, logicalTime: run.logical, environment: environment, workDirectory: workDirectory,
            startedAt: Date().timeIntervalSince1970, force: force, resultPath: files.resultPath)
        var receipts: [LinkRequest.Receipt] = []
        if let direction = receiptDirection(of: step) {
            receipts = try await records.receipts(job: run.job, logicalDate: run.logical.date, direction: direction)
        }
        _ = try files.write(step, context: context, receipts: receipts)
        return files
    }

    /// How the step ended, read with its answer: a step that failed and said why is recorded with
    /// its error class and message instead of a bare exit status.
    func answer(to termination: StepTermination) -> (StepTermination, [LinkFile]) {
        guard let data = FileManager.default.contents(atPath: resultPath),
              let result = try? JSONDecoder().decode(LinkResult.self, from: data)
        else {
            if termination == .exited(0) {
                return (.linkFailed(.exit, "the built-in step ended without leaving its answer (\(resultPath))"), [])
            }
            return (termination, [])
        }
        if case .exited = termination, let failure = result.failure {
            return (.linkFailed(failure.errorClass, failure.message), result.files)
        }
        return (termination, result.files)
    }
}
