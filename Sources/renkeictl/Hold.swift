import ArgumentParser
import RenkeiControl
import RenkeiCore

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Stop a link's automatic runs until it is released: each slot is recorded skipped.",
        discussion: """
            Its slots, catch-ups, retries and runs started by its upstreams are recorded skipped \
            with the reason ("held by USER: …"); a waiting run waits on. An operator's own run or \
            rerun still runs. Audited. See renkeictl release.

            Example:
              renkeictl hold juki-to-fukushi --until "2026-12-02 06:00" --reason "ticket 4411: welfare system down for maintenance"
            """
    )

    @OptionGroup var location: LocationOptions

    @Argument(help: ArgumentHelp("The job.", valueName: "JOB"))
    var job: String

    @Option(help: ArgumentHelp("Release by itself at T (2026-12-02 06:00 or ISO 8601, in the job's zone).", valueName: "T"))
    var until: String?

    @Option(help: ArgumentHelp("Why (required); shown with every slot it skips and kept in the audit log.", valueName: "TEXT"))
    var reason: String

    func validate() throws {
        if let problem = SafeText.reasonProblem(reason) { throw ValidationError("--reason: \(problem)") }
    }

    func run() throws {
        print(SafeText.visibleLines(try askDaemon(location.locations, ControlRequest(operation: .hold, job: job, reason: reason, until: until)).message))
    }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Let a held link run again from its next slot.",
        discussion: "Slots that came while it was held stay skipped. Audited.\n\nExample:\n  renkeictl release juki-to-fukushi --reason \"maintenance over\""
    )

    @OptionGroup var location: LocationOptions

    @Argument(help: ArgumentHelp("The job.", valueName: "JOB"))
    var job: String

    @Option(help: ArgumentHelp("Why; kept in the audit log.", valueName: "TEXT"))
    var reason: String?

    func validate() throws {
        if let problem = SafeText.reasonProblem(reason) { throw ValidationError("--reason: \(problem)") }
    }

    func run() throws {
        print(SafeText.visibleLines(try askDaemon(location.locations, ControlRequest(operation: .release, job: job, reason: reason)).message))
    }
}
