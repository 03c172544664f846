import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiRuntime
import RenkeiStore

/// Zabbix agent items (`UserParameter`s in Units/zabbix/renkei.conf). Every value comes from the
/// job files and the store directly, never through the daemon, so they answer while it is down.
struct Zabbix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zabbix",
        abstract: "Values for the Zabbix agent: job discovery and per-job items, read from the store.",
        discussion: """
            The agent runs these through the UserParameter file (installed as \
            /etc/zabbix/zabbix_agentd.conf.d/renkei.conf); its user, zabbix, must be in the \
            operators' group to read the store (usermod -aG renkei zabbix).

            Example:
              renkeictl zabbix discovery
              renkeictl zabbix item unresolved juki-to-fukushi
            """,
        subcommands: [ZabbixDiscovery.self, ZabbixItem.self]
    )
}

/// `renkei.job.discovery`: low-level discovery of the jobs.
struct ZabbixDiscovery: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discovery",
        abstract: "Print the jobs as Zabbix low-level discovery JSON: {\"data\":[{\"{#JOB}\":…,\"{#DESCRIPTION}\":…}]}."
    )

    @OptionGroup var location: LocationOptions

    func run() throws {
        let catalog = JobLoader.load(directory: location.locations.jobs)
        let data = catalog.jobs.map(\.job).sorted { $0.name.rawValue < $1.name.rawValue }.map { job in
            ["{#JOB}": job.name.rawValue, "{#DESCRIPTION}": job.description ?? ""]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(["data": data]), as: UTF8.self))
    }
}

/// One value of one job (or of the daemon).
struct ZabbixItem: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "item",
        abstract: "Print one item's value.",
        discussion: """
            ITEM is one of:
              state JOB          the newest run's state (running, succeeded, failed, timed_out, \
            cancelled, interrupted, missed, skipped), or none
              unresolved JOB     failed runs of JOB nobody has resolved yet (a number)
              since-success JOB  seconds since JOB's newest run succeeded; -1 if it never did
              daemon             1 while renkeid runs on this state directory, 0 when it does not

            Example:
              renkeictl zabbix item since-success juki-to-fukushi
            """
    )

    enum Item: String, ExpressibleByArgument, CaseIterable {
        case state, unresolved
        case sinceSuccess = "since-success"
        case daemon
    }

    @OptionGroup var location: LocationOptions

    @Argument(help: ArgumentHelp("state, unresolved, since-success or daemon.", valueName: "ITEM"))
    var item: Item

    @Argument(help: ArgumentHelp("The job (not for daemon).", valueName: "JOB"))
    var job: String?

    func validate() throws {
        if item == .daemon && job != nil { throw ValidationError("the item daemon takes no JOB") }
        if item != .daemon && job == nil { throw ValidationError("the item \(item.rawValue) needs a JOB, as in: renkeictl zabbix item \(item.rawValue) juki-to-fukushi") }
    }

    func run() throws {
        let locations = location.locations
        guard let job else {
            print(Self.daemonRuns(state: StateDirectory(locations.state)) ? "1" : "0")
            return
        }
        // A job the files no longer define but the store remembers still answers.
        let store = try openForReading(locations)
        defer { store.close() }
        let known = JobLoader.load(directory: locations.jobs).jobs.contains { $0.job.name.rawValue == job }
        let state = try store.latestState(job: job)
        guard known || state != nil else {
            throw Failure(.noSuchJobOrRun, "no job \(job) in \(locations.jobs) and no run of it in the store (renkeictl zabbix discovery lists the jobs)")
        }
        switch item {
        case .state:
            print(state?.rawValue ?? "none")
        case .unresolved:
            print(try store.figures(jobs: [job])[job]?.unresolved ?? 0)
        case .sinceSuccess:
            guard let last = try store.figures(jobs: [job])[job]?.lastSuccess else {
                print(-1)
                return
            }
            print(max(0, Int64(Date().timeIntervalSince1970 - last)))
        case .daemon:
            break
        }
    }

    /// Whether the pid in renkeid's lock file is a living renkeid (without taking the lock, which
    /// could stop a renkeid starting at that instant).
    static func daemonRuns(state: StateDirectory) -> Bool {
        guard let text = try? String(contentsOfFile: state.locks + "/renkeid.lock", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return false }
        return command.trimmingCharacters(in: .whitespacesAndNewlines) == "renkeid"
    }
}
