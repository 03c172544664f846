import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime

@Suite struct JobLoaderTests {
    private let good = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n"

    @Test func oneBadFileNeverStopsTheOthers() throws {
        let scratch = try Scratch()
        scratch.writeJob("good", good)
        scratch.writeJob("bad", "timeuot: 5m\n" + good)
        scratch.writeJob("also-good", good)
        _ = FileManager.default.createFile(atPath: scratch.jobs + "/old.yml", contents: Data(good.utf8))
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.map(\.job.name.rawValue) == ["also-good", "good"])
        #expect(catalog.problems.count == 1)
        #expect(catalog.problems[0].description.hasPrefix(scratch.jobs + "/bad.yaml:1:1: error: unknown key 'timeuot'"))
        #expect(catalog.notes == ["\(scratch.jobs)/old.yml: not loaded: job files end in .yaml (rename it to old.yaml)"])
    }

    @Test func aJobFileWritableByGroupOrOthersIsRefusedWithTheFix() throws {
        let scratch = try Scratch()
        let groupWritable = scratch.writeJob("group", good, mode: 0o664)
        let worldWritable = scratch.writeJob("world", good, mode: 0o666)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.isEmpty)
        #expect(catalog.problems.map(\.description) == [
            "\(groupWritable):1:1: error: refusing \(groupWritable): it is writable by its group, who could make Renkei run any command (fix: chmod go-w \(groupWritable))",
            "\(worldWritable):1:1: error: refusing \(worldWritable): it is writable by group and others, who could make Renkei run any command (fix: chmod go-w \(worldWritable))",
        ])
    }

    @Test func aWorldWritableJobsDirectoryIsRefused() throws {
        let scratch = try Scratch()
        scratch.writeJob("good", good)
        chmod(scratch.jobs, 0o777)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.isEmpty)
        #expect(catalog.problems.first?.message.contains("fix: chmod go-w \(scratch.jobs)") == true)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to give the file to another user"))
    func aJobFileOwnedBySomeoneElseIsRefusedWithTheFix() throws {
        let scratch = try Scratch()
        let path = scratch.writeJob("theirs", good)
        #expect(chown(path, 65534, 65534) == 0)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.isEmpty)
        let message = try #require(catalog.problems.first?.message)
        #expect(message.hasPrefix("refusing \(path): it is owned by nobody"))
        #expect(message.hasSuffix("(fix: chown root \(path))"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to run renkeictl as another user"))
    func anUnreadableJobFileIsReportedAndTheOthersStillLoad() throws {
        let scratch = try Scratch()
        // renkeictl runs as nobody; root owns the files (trusted), one of them is not readable to nobody.
        scratch.writeJob("readable", good, mode: 0o644)
        let secret = scratch.writeJob("secret", good, mode: 0o600)
        let result = try execute("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", renkeictl, "check", "--jobs", scratch.jobs])
        #expect(result.status == 2)
        #expect(result.stdout.contains("ok  readable"))
        #expect(result.stderr.contains("\(secret):1:1: error: cannot read: Permission denied"))
    }

    @Test func checkPrintsEveryProblemAndExits2() throws {
        let scratch = try Scratch()
        scratch.writeJob("good", good)
        let bad = scratch.writeJob("bad", "timeout: 5 minutes\nsteps: []\n")
        let result = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(result.status == 2)
        #expect(result.stdout == "ok  good  manual only, 1 step\n")
        #expect(result.stderr.contains("\(bad):1:10: error: bad 'timeout': '5 minutes' is not a duration"))
        #expect(result.stderr.contains("\(bad):2:8: error: 'steps' is empty"))
        #expect(result.stderr.contains("2 problems in 1 file; 1 job valid"))
        let clean = try execute(renkeictl, ["check", "--jobs", scratch.jobs, scratch.jobs + "/good.yaml"])
        #expect(clean.status == 0)
    }

    @Test func theExampleJobsAreClean() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let result = try execute(renkeictl, ["check", "--jobs", repository.appendingPathComponent("Jobs").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count >= 3)
    }

    @Test func usageErrorsExit2() throws {
        let result = try execute(renkeictl, ["history", "--limit", "0"])
        #expect(result.status == 2)
        #expect(try execute(renkeictl, ["no-such-command"]).status == 2)
    }
}

@Suite struct LocationsTests {
    @Test func flagsBeatVariablesBeatSystemdBeatTheCheckout() {
        let cwd = FileManager.default.temporaryDirectory.path
        let env = ["RENKEI_STATE": "/srv/state", "STATE_DIRECTORY": "/var/lib/renkei", "RUNTIME_DIRECTORY": "/run/renkei", "CONFIGURATION_DIRECTORY": "/etc/renkei"]
        let resolved = Locations.resolve(jobs: "relative/jobs", environment: env, currentDirectory: cwd)
        #expect(resolved.jobs == URL(fileURLWithPath: cwd).appendingPathComponent("relative/jobs").standardizedFileURL.path)
        #expect(resolved.state == "/srv/state")
        #expect(resolved.socket == "/run/renkei/control.sock")
        let system = Locations.resolve(environment: [:], currentDirectory: "/nonexistent-dir")
        #expect(system == Locations(jobs: "/etc/renkei/jobs", state: "/var/lib/renkei", socket: "/run/renkei/control.sock"))
    }
}
