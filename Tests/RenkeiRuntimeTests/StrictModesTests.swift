import Foundation
import Testing
@testable import RenkeiRuntime

/// StrictModes all the way: every directory from a file up to `/`, and on the way to every
/// symlink's target, as an operator meets it through `renkeictl check` and renkeid.
@Suite struct StrictModesTests {
    private let good = "steps:\n  - name: a\n    run: [\"/bin/true\"]\n"

    /// A directory under the scratch root with the given mode (chmod, whatever the umask).
    private func directory(_ scratch: Scratch, _ name: String, mode: mode_t) throws -> String {
        let path = scratch.root + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        #expect(chmod(path, mode) == 0)
        return path
    }

    private func write(_ path: String, _ text: String, mode: mode_t = 0o644) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        chmod(path, mode)
    }

    @Test func aJobFileSymlinkedIntoADirectoryEveryoneWritesIsRefusedNamingItAndTheFix() throws {
        let scratch = try Scratch()
        let open = try directory(scratch, "open", mode: 0o777)
        write(open + "/export.yaml", good)
        write(open + "/relative.yaml", good)
        let link = scratch.jobs + "/export.yaml", relative = scratch.jobs + "/relative.yaml"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: open + "/export.yaml")
        try FileManager.default.createSymbolicLink(atPath: relative, withDestinationPath: "../open/relative.yaml")
        scratch.writeJob("good", good)
        let checked = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(checked.status == 2)
        #expect(checked.stdout.contains("ok  good"))
        for path in [link, relative] {
            #expect(checked.stderr.contains("\(path):1:1: error: refusing \(path): \(open), a directory on the way to where the symlink \(path) points, is writable by every user and not sticky (mode 0777), so whoever can write there could put another job file in its place and make Renkei run any command (fix: chmod o-w \(open))"), "\(checked.stderr)")
        }
        #expect(!checked.stdout.contains("export"))
        // The fix printed is the fix.
        chmod(open, 0o755)
        let fixed = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("ok  export"))
    }

    @Test func aSymlinkChainIsFollowedToTheEnd() throws {
        let scratch = try Scratch()
        let safe = try directory(scratch, "safe", mode: 0o755)
        let open = try directory(scratch, "open", mode: 0o777)
        let inner = try directory(scratch, "open/inner", mode: 0o755)
        write(inner + "/export.yaml", good)
        // jobs/export.yaml -> safe/hop.yaml -> open/inner/export.yaml
        try FileManager.default.createSymbolicLink(atPath: safe + "/hop.yaml", withDestinationPath: inner + "/export.yaml")
        try FileManager.default.createSymbolicLink(atPath: scratch.jobs + "/export.yaml", withDestinationPath: safe + "/hop.yaml")
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.isEmpty)
        let message = try #require(catalog.problems.first?.message)
        #expect(message.contains("\(open), a directory on the way to where the symlink \(safe)/hop.yaml points"), "\(message)")
        #expect(message.hasSuffix("(fix: chmod o-w \(open))"))
    }

    @Test func theSameUnderAStickyDirectoryIsAccepted() throws {
        let scratch = try Scratch()
        let sticky = try directory(scratch, "sticky", mode: 0o1777)
        write(sticky + "/export.yaml", good)
        try FileManager.default.createSymbolicLink(atPath: scratch.jobs + "/export.yaml", withDestinationPath: sticky + "/export.yaml")
        let checked = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("ok  export"))
    }

    @Test func aJobsDirectoryUnderAParentEveryoneWritesIsRefused() throws {
        let scratch = try Scratch()
        let open = try directory(scratch, "open", mode: 0o777)
        let jobs = try directory(scratch, "open/jobs", mode: 0o755)
        write(jobs + "/export.yaml", good)
        let checked = try execute(renkeictl, ["check", "--jobs", jobs])
        #expect(checked.status == 2)
        #expect(checked.stderr.contains("\(jobs):1:1: error: refusing the jobs directory \(jobs): \(open), a directory above it, is writable by every user and not sticky (mode 0777), so whoever can write there could add or replace job files and make Renkei run any command (fix: chmod o-w \(open))"), "\(checked.stderr)")
        #expect(checked.stdout.isEmpty)
    }

    @Test func aParentWritableByItsGroupIsRefusedForJobFilesAsSshdDoes() throws {
        let scratch = try Scratch()
        let shared = try directory(scratch, "shared", mode: 0o775)
        let jobs = try directory(scratch, "shared/jobs", mode: 0o755)
        write(jobs + "/export.yaml", good)
        let catalog = JobLoader.load(directory: jobs)
        #expect(catalog.jobs.isEmpty)
        #expect(catalog.problems.first?.message.contains("\(shared), a directory above it, is writable by its group root (mode 0775)") == true)
        #expect(catalog.problems.first?.message.hasSuffix("(fix: chmod g-w \(shared))") == true)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to give a directory to another user"))
    func aParentOwnedBySomeoneElseIsRefused() throws {
        let scratch = try Scratch()
        let theirs = try directory(scratch, "theirs", mode: 0o755)
        #expect(chown(theirs, 65534, 65534) == 0)
        let jobs = try directory(scratch, "theirs/jobs", mode: 0o755)
        write(jobs + "/export.yaml", good)
        let catalog = JobLoader.load(directory: jobs)
        #expect(catalog.jobs.isEmpty)
        let message = try #require(catalog.problems.first?.message)
        #expect(message.contains("\(theirs), a directory above it, is owned by nobody, who may change it at will"), "\(message)")
        #expect(message.hasSuffix("(fix: chown root \(theirs))"))
    }

    @Test func aClosedDayFileOrSubstitutionTableWhereEveryoneWritesIsRefusedAtItsLine() throws {
        let scratch = try Scratch()
        let open = try directory(scratch, "open", mode: 0o777)
        let safe = try directory(scratch, "safe", mode: 0o755)
        for place in [open, safe] {
            write(place + "/days.txt", "2026-12-24\n")
            write(place + "/gaiji.tsv", "U+20BB7\t吉\n")
        }
        func days(_ place: String) -> String { "schedule: daily\nclosed_days: [jp-municipal, \(place)/days.txt]\n" + good }
        func table(_ place: String) -> String {
            "steps:\n  - name: c\n    convert: { file: a, to: b, from: cp932, to_encoding: utf-8, unmappable: substitute, substitutions: \(place)/gaiji.tsv }\n"
        }
        let openDays = scratch.writeJob("days-open", days(open))
        scratch.writeJob("days-safe", days(safe))
        let openTable = scratch.writeJob("table-open", table(open))
        scratch.writeJob("table-safe", table(safe))
        let checked = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(checked.status == 2)
        #expect(checked.stdout.contains("ok  days-safe") && checked.stdout.contains("ok  table-safe"))
        #expect(checked.stderr.contains("\(openDays):2:29: error: refusing the closed-day file \(open)/days.txt: \(open), a directory above it, is writable by every user and not sticky (mode 0777), so whoever can write there could change the days this job runs (fix: chmod o-w \(open))"), "\(checked.stderr)")
        #expect(checked.stderr.contains("\(openTable):3:"))
        #expect(checked.stderr.contains("error: refusing the substitution table \(open)/gaiji.tsv: \(open), a directory above it, is writable by every user and not sticky (mode 0777), so whoever can write there could change what this job writes into the data it delivers (fix: chmod o-w \(open))"), "\(checked.stderr)")
        #expect(checked.stderr.contains("2 problems in 2 files; 2 jobs valid"))
    }

    @Test func aTriggerDirectoryBelowOneEveryoneWritesIsRefusedEvenBeforeItExists() throws {
        let scratch = try Scratch()
        let open = try directory(scratch, "open", mode: 0o777)
        let inbox = try directory(scratch, "open/inbox", mode: 0o755)
        let sticky = try directory(scratch, "sticky", mode: 0o1777)
        let stickyInbox = try directory(scratch, "sticky/inbox", mode: 0o775)
        let below = scratch.writeJob("below", "trigger: { path: \(inbox), file: \"*.csv\" }\n" + good)
        let later = scratch.writeJob("later", "trigger: { path: \(open)/later, file: \"*.csv\" }\n" + good)
        scratch.writeJob("sticky", "trigger: { path: \(stickyInbox), file: \"*.csv\" }\n" + good)
        let catalog = JobLoader.load(directory: scratch.jobs)
        #expect(catalog.jobs.map(\.job.name.rawValue) == ["sticky"])
        let refusal = { (path: String) in
            "refusing trigger directory \(path): \(open), a directory above it, is writable by every user and not sticky (mode 0777), so anyone could put a directory of their own there and start this job with data of their making (fix: chmod o-w \(open))"
        }
        #expect(catalog.problems.map(\.description) == [
            "\(below):1:18: error: " + refusal(inbox),
            "\(later):1:18: error: " + refusal(open + "/later"),
        ])
        #expect(catalog.notes.isEmpty)
        #expect(stickyInbox.hasPrefix(sticky))
    }

    /// renkei.yaml names programs renkeid runs and a file it replaces: trusted as a job file is,
    /// by `check` and by renkeid; a notification program others could replace is a warning.
    @Test func renkeiYamlWhereEveryoneWritesIsRefusedAndANotifyProgramOthersCanReplaceIsAWarning() throws {
        let scratch = try Scratch()
        scratch.writeJob("good", good)
        let open = try directory(scratch, "open", mode: 0o777)
        let config = open + "/renkei.yaml"
        write(config, "metrics:\n  textfile: \(scratch.root)/renkei.prom\n")
        let refused = try execute(renkeictl, ["check", "--jobs", scratch.jobs, "--config", config])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("\(config):1:1: error: refusing \(config): \(open), a directory above it, is writable by every user and not sticky (mode 0777), so whoever can write there could change the programs renkeid runs to notify and the file it replaces for metrics (fix: chmod o-w \(open))"), "\(refused.stderr)")
        // renkeid, too, runs without it (no metrics file) and says why.
        let daemon = try DaemonProcess(scratch, arguments: ["--config", config])
        #expect(eventually(seconds: 20) { daemon.log.contains("renkeid ready") }, "\(daemon.log)")
        daemon.stop()
        #expect(daemon.log.contains("refusing \(config)"), "\(daemon.log)")
        #expect(!FileManager.default.fileExists(atPath: scratch.root + "/renkei.prom"))

        chmod(open, 0o755)
        let pager = open + "/page-ops"
        write(pager, "#!/bin/sh\n", mode: 0o757)
        write(config, "notify:\n  command: [\"\(pager)\"]\n")
        let warned = try execute(renkeictl, ["check", "--jobs", scratch.jobs, "--config", config])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("warning: \(config): notify.command runs \(pager): \(pager) is writable by every user (mode 0757), so anyone could replace the program renkeid runs to notify (fix: chmod o-w \(pager))"), "\(warned.stderr)")
    }

    @Test func aStepProgramOthersCanWriteIsAWarningAndCheckStillExitsZero() throws {
        let scratch = try Scratch()
        let open = try directory(scratch, "open", mode: 0o777)
        let bin = try directory(scratch, "bin", mode: 0o755)
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: open + "/export")
        chmod(open + "/export", 0o755)
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: bin + "/deliver")
        chmod(bin + "/deliver", 0o757)
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: bin + "/check")
        chmod(bin + "/check", 0o755)
        let job = scratch.writeJob("link", """
            steps:
              - name: export
                run: ["\(open)/export"]
              - name: deliver
                run: ["deliver"]
              - name: check
                run: ["../bin/check"]
            environment: { PATH: "\(bin):/usr/bin:/bin" }
            """)
        let checked = try execute(renkeictl, ["check", "--jobs", scratch.jobs])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("ok  link"))
        let warnings = checked.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        #expect(warnings == [
            "warning: \(job): step 'export' runs \(open)/export: \(open), a directory above it, is writable by every user and not sticky (mode 0777), so anyone could replace the program this step runs (fix: chmod o-w \(open))",
            "warning: \(job): step 'deliver' runs \(bin)/deliver: \(bin)/deliver is writable by every user (mode 0757), so anyone could replace the program this step runs (fix: chmod o-w \(bin)/deliver)",
        ], "\(checked.stderr)")
    }

    @Test func renkeidRefusesTheSymlinkedJobAndRunsTheOthers() throws {
        let scratch = try Scratch()
        let open = try directory(scratch, "open", mode: 0o777)
        write(open + "/export.yaml", good)
        let link = scratch.jobs + "/export.yaml"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: open + "/export.yaml")
        scratch.writeJob("tick", good)
        let daemon = try DaemonProcess(scratch)
        #expect(eventually { daemon.log.contains("renkeid ready: 1 jobs") }, "\(daemon.log)")
        #expect(daemon.log.contains("refusing \(link): \(open), a directory on the way to where the symlink \(link) points"))
        #expect(daemon.log.contains("(fix: chmod o-w \(open))"))
        daemon.stop()
    }
}
