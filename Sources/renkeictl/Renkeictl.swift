import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiRuntime

@main
/// Every command names itself (`commandName:`): a name derived from the type costs a reflection
/// at every start, and an operator's `renkeictl rerun` should answer at once.
struct Renkeictl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renkeictl",
        abstract: "Check, run and inspect Renkei's data-link jobs.",
        discussion: """
            Exit status: 0 success; 1 the run did not succeed; 2 usage error or invalid input; \
            3 daemon not reachable; 4 permission denied; 5 no such job or run.

            Examples:
              renkeictl check --jobs /etc/renkei/jobs
              renkeictl run juki-to-fukushi --local
              renkeictl history juki-to-fukushi --since 2026-11-01
              renkeictl show 412
            """,
        subcommands: [Check.self, CalendarCommand.self, Status.self, Jobs.self, Run.self, Rerun.self, Cancel.self, Hold.self, Release.self, History.self, Show.self, Graph.self, Report.self, Audit.self, Purge.self, StoreCommand.self, StepCommand.self, CheckFile.self, ConvertFile.self, LinkStepCommand.self, Zabbix.self]
    )

    /// Maps every failure to the exit status SPEC promises; argument errors are 2, not 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as Failure {
            FileHandle.standardError.write(Data("renkeictl: \(SafeText.visibleLines(failure.message))\n".utf8))
            Foundation.exit(failure.status.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            if error is ExitCode { Foundation.exit(code.rawValue) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
    }
}

/// SPEC's exit statuses.
enum ExitStatus: Int32 {
    case success = 0
    case runDidNotSucceed = 1
    case usage = 2
    case daemonUnreachable = 3
    case permissionDenied = 4
    case noSuchJobOrRun = 5
}

/// A failure to report to the operator, with the exit status it means.
struct Failure: Error {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Where job files and state live; shared by every subcommand that needs them.
struct LocationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Directory of job files (default: $RENKEI_JOBS, ./Jobs in a checkout, else /etc/renkei/jobs).", valueName: "DIR"))
    var jobs: String?

    @Option(name: .long, help: ArgumentHelp("State directory (default: $RENKEI_STATE, ./.renkei in a checkout, else /var/lib/renkei).", valueName: "DIR"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("renkeid's control socket (default: $RENKEI_SOCKET, ./.renkei/control.sock in a checkout, else /run/renkei/control.sock).", valueName: "PATH"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("How long to wait for renkeid's answer, in seconds (commands that ask renkeid; default 30).", valueName: "SECONDS"))
    var timeout: Int?

    func validate() throws {
        if let timeout, timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
    }

    var locations: Locations {
        var locations = Locations.resolve(jobs: jobs, state: state, socket: socket)
        if let timeout { locations.answerSeconds = timeout }
        return locations
    }
}
