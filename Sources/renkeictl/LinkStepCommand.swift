import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiLink

/// The process of a built-in step (`receive:`, `deliver:`): the runner writes a `LinkRequest`
/// into the run's work directory and starts `renkeictl link-step FILE` like any other step, so a
/// timeout, a cancel or a daemon stop reach it exactly as they reach a `run:` step. What it says
/// on standard output is the step's output; its answer (`LinkResult`) goes to the request's
/// `resultPath`.
struct LinkStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link-step",
        abstract: "Carry out one built-in step from a request file (started by renkeid; see 'renkeictl step' to try one by hand).",
        shouldDisplay: false
    )

    @Argument(help: ArgumentHelp("The request (JSON) the runner wrote.", valueName: "FILE"))
    var requestFile: String

    func run() throws {
        let request: LinkRequest
        do {
            request = try JSONDecoder().decode(LinkRequest.self, from: Data(contentsOf: URL(fileURLWithPath: requestFile)))
        } catch {
            throw Failure(.usage, "cannot read the step request \(requestFile): \(error)")
        }
        let result = LinkStepProcess.perform(request) { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        try LinkStepCommand.write(result, to: request.resultPath)
        if let failure = result.failure {
            FileHandle.standardError.write(Data("\(failure.message)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The answer, written whole (temporary file, then rename) so the runner never reads half of one.
    static func write(_ result: LinkResult, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let temporary = path + ".partial"
        do {
            try encoder.encode(result).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw Failure(.usage, "cannot rename \(temporary): \(String(cString: strerror(errno)))") }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(.usage, "cannot write the step's result \(path): \(error)")
        }
    }
}
