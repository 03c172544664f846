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

    @Test func aChainThatCannotRunIsNotLoadedAndEachJobOfItIsTold() throws {
        let scratch = try Scratch()
        let a = scratch.writeJob("a", "after: [b]\n" + good)
        let b = scratch.writeJob("b", "after: [c]\n" + good)
        let c = scratch.writeJob("c", "description: x\nafter:\n  - a\n" + good)
        let typo = scratch.writeJob("typo", "after: [juki-exprot]\n" + good)
        let selfish = scratch.writeJob("selfish", "after: selfish\n" + good)
        scratch.writeJob("juki-export", good)
        scratch.writeJob("welfare", "after: [juki-export]\n" + good)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.map(\.job.name.rawValue) == ["juki-export", "welfare"])
        #expect(catalog.problems.map(\.description) == [
            "\(a):1:9: error: 'after' makes a cycle: a → b → c → a; each of these jobs would wait for itself, so none of them is loaded: remove one of the links",
            "\(b):1:9: error: 'after' makes a cycle: b → c → a → b; each of these jobs would wait for itself, so none of them is loaded: remove one of the links",
            "\(c):3:5: error: 'after' makes a cycle: c → a → b → c; each of these jobs would wait for itself, so none of them is loaded: remove one of the links",
            "\(selfish):1:8: error: 'selfish' in 'after' is this job itself: a job cannot wait for its own run; remove it",
            "\(typo):1:9: error: unknown job 'juki-exprot' in 'after' (did you mean 'juki-export'?): name a job by its file name without .yaml",
        ])
    }

    @Test func aJobWaitingForABrokenFileIsNotLoadedEither() throws {
        let scratch = try Scratch()
        let export = scratch.writeJob("juki-export", "timeuot: 5m\n" + good)
        let welfare = scratch.writeJob("welfare", "after: [juki-export]\n" + good)
        let statistics = scratch.writeJob("statistics", "after: [welfare]\n" + good)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.isEmpty)
        #expect(catalog.problems.map(\.description) == [
            "\(export):1:1: error: unknown key 'timeuot' in job (did you mean 'timeout'?); allowed keys: description, schedule, after, after_wait, trigger, timezone, closed_days, on_closed_day, catch_up, catch_up_window, overlap, timeout, kill_grace, log_output, retry, deadline, environment, steps, retention, notify",
            "\(statistics):1:9: error: 'welfare' in 'after' is not loaded (see the problems of \(welfare)): this job would wait for it forever, so it is not loaded either",
            "\(welfare):1:9: error: 'juki-export' in 'after' is not loaded (see the problems of \(export)): this job would wait for it forever, so it is not loaded either",
        ])
    }

    @Test func checkingSomeFilesTrustsUpstreamsBesideThem() throws {
        let scratch = try Scratch()
        scratch.writeJob("juki-export", good)
        let welfare = scratch.writeJob("welfare", "after: [juki-export]\n" + good)
        let lost = scratch.writeJob("lost", "after: [nowhere]\n" + good)
        let catalog = JobLoader.load(files: [welfare, lost])
        #expect(catalog.jobs.map(\.job.name.rawValue) == ["welfare"])
        #expect(catalog.problems.map(\.description) == ["\(lost):1:9: error: unknown job 'nowhere' in 'after': name a job by its file name without .yaml"])
    }

    @Test func aTriggerDirectoryEveryoneCanWriteIsRefusedUnlessSticky() throws {
        let scratch = try Scratch()
        let open = scratch.root + "/open", sticky = scratch.root + "/sticky", plain = scratch.root + "/plain"
        for directory in [open, sticky, plain] { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false) }
        chmod(open, 0o777)
        chmod(sticky, 0o1777)
        chmod(plain, 0o775)
        _ = FileManager.default.createFile(atPath: scratch.root + "/file", contents: Data())
        let refused = scratch.writeJob("refused", "description: x\ntrigger:\n  path: \(open)\n  file: \"*.csv\"\n" + good)
        scratch.writeJob("sticky", "trigger: { path: \(sticky), file: \"*.csv\" }\n" + good)
        scratch.writeJob("plain", "trigger: { path: \(plain), file: \"*.csv\" }\n" + good)
        let later = scratch.writeJob("later", "trigger: { path: \(scratch.root)/not-yet, file: \"*.csv\" }\n" + good)
        let notDirectory = scratch.writeJob("not-directory", "trigger: { path: \(scratch.root)/file, file: \"*.csv\" }\n" + good)
        scratch.writeJob("downstream", "after: [refused]\n" + good)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.map(\.job.name.rawValue) == ["later", "plain", "sticky"])
        #expect(catalog.problems.map(\.description) == [
            "\(notDirectory):1:18: error: trigger directory \(scratch.root)/file is not a directory: 'trigger.path' names the directory files arrive in",
            "\(refused):3:9: error: refusing trigger directory \(open): every user can write in it, so anyone could drop a file there and start this job with data of their making (fix: chmod o-w \(open), or chmod +t \(open) so no one can replace or remove a file another user wrote)",
            "\(scratch.jobs)/downstream.yaml:1:9: error: 'refused' in 'after' is not loaded (see the problems of \(refused)): this job would wait for it forever, so it is not loaded either",
        ])
        #expect(catalog.notes == ["\(later):1:18: trigger directory \(scratch.root)/not-yet does not exist yet: no file can start the job until it does"])
    }

    /// How fast is for `make bench`; a timed assertion here would fail on a loaded machine.
    @Test func aThousandChainedJobFilesLoad() throws {
        let scratch = try Scratch()
        for index in 0..<1_000 {
            scratch.writeJob(String(format: "j%04d", index), (index == 0 ? "" : String(format: "after: [j%04d]\n", index - 1)) + good)
        }
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.problems.isEmpty)
        #expect(catalog.jobs.count == 1_000)
        #expect(Dependencies(catalog.jobs.map(\.job)).downstream(of: JobName("j0990")!).count == 9)
    }

    @Test func checkReportsABrokenChainAndExits2() throws {
        let scratch = try Scratch()
        scratch.writeJob("juki-export", good)
        scratch.writeJob("welfare", "after: [juki-export]\n" + good)
        let a = scratch.writeJob("a", "after: [b]\n" + good)
        let b = scratch.writeJob("b", "after:\n  - c\n" + good)
        let c = scratch.writeJob("c", "after: [juki-export, a]\n" + good)
        let result = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(result.status == 2)
        #expect(result.stdout == "ok  juki-export  manual only, 1 step\nok  welfare      after juki-export, 1 step\n")
        #expect(result.stderr == """
            \(a):1:9: error: 'after' makes a cycle: a → b → c → a; each of these jobs would wait for itself, so none of them is loaded: remove one of the links
            \(b):2:5: error: 'after' makes a cycle: b → c → a → b; each of these jobs would wait for itself, so none of them is loaded: remove one of the links
            \(c):1:22: error: 'after' makes a cycle: c → a → b → c; each of these jobs would wait for itself, so none of them is loaded: remove one of the links
            3 problems in 3 files; 2 jobs valid

            """)
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
