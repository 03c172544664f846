import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// Issue 17's smaller items, as an operator (or someone who is not one) meets them: the store's
/// permissions and read-only copies, the operators' group in refusals, a daemon that does not
/// answer, and control characters in every text output.
@Suite(.serialized) struct PrivacySmallOnesTests {
    static let quickJob = "description: a quick job\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n"

    /// A store with one finished run, made by `renkeictl run --local` as root.
    static func storeWithOneRun(_ scratch: Scratch) throws {
        scratch.writeJob("quick", quickJob)
        let run = try Control(scratch: scratch).ctl(["run", "quick", "--local"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    }

    // MARK: - 1. Exit 4 for a store this user may not read

    @Test(.enabled(if: getuid() == 0, "needs root to create test users"))
    func aStoreTheCallerMayNotReadIsPermissionDeniedNotNoStore() throws {
        let scratch = try Scratch()
        try Self.storeWithOneRun(scratch)
        let users = try TestUsers(operators: 1, outsiders: 1)
        defer { users.remove() }
        let (member, outsider) = (users.operators[0], users.outsiders[0])
        let control = Control(scratch: scratch)
        // As the unit leaves it: the state directory 0750 and the store 0640, in the operators' group.
        _ = try execute("/usr/bin/chgrp", ["-R", users.group, scratch.state])
        var status = stat()
        #expect(stat(scratch.state, &status) == 0 && status.st_mode & 0o777 == 0o750)

        for command in [["history"], ["show", "1"], ["report"], ["audit"], ["graph"], ["purge", "--dry-run"]] {
            let refused = try control.ctl(command, as: outsider)
            #expect(refused.status == 4, "\(command): \(refused.stderr)")
            #expect(refused.stderr.contains("permission denied reading the run store \(scratch.state)/renkei.db: \(scratch.state) (mode 0750, owner root, group \(users.group)) cannot be entered by \(outsider)"), "\(command): \(refused.stderr)")
            #expect(refused.stderr.contains("usermod -aG \(users.group) \(outsider)"))
            #expect(refused.stderr.contains("sudo"))
            #expect(!refused.stderr.contains("no run store"))
        }
        let allowed = try control.ctl(["history"], as: member)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("quick"))

        // A directory others may enter (a misconfiguration) with the file itself closed: the file is named.
        chmod(scratch.state, 0o755)
        defer { chmod(scratch.state, 0o750) }
        let file = try control.ctl(["history"], as: outsider)
        #expect(file.status == 4, "\(file.stderr)")
        #expect(file.stderr.contains("\(scratch.state)/renkei.db (mode 0640, owner root, group \(users.group)) cannot be read by \(outsider)"), "\(file.stderr)")

        // Still 5 when there is no store at all.
        let missing = try execute(renkeictl, ["history", "--state", scratch.root + "/nothing-here"])
        #expect(missing.status == 5)
        #expect(missing.stderr.contains("no run store at \(scratch.root)/nothing-here/renkei.db"))
    }

    // MARK: - 2. A store on a read-only mount

    /// `source` bind-mounted read-only on a new directory for `body`; unmounted after.
    static func readOnlyMount<T>(of source: String, in scratch: Scratch, _ body: (String) throws -> T) throws -> T {
        let target = scratch.root + "/read-only"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let bind = try execute("/usr/bin/mount", ["--bind", source, target])
        try #require(bind.status == 0, "\(bind.stderr)")
        defer { _ = try? execute("/usr/bin/umount", [target]) }
        let remount = try execute("/usr/bin/mount", ["-o", "remount,ro,bind", target])
        try #require(remount.status == 0, "\(remount.stderr)")
        // The mount really is read-only: SQLite could not make a -shm in it.
        try #require(access(target, W_OK) != 0 && errno == EROFS)
        return try body(target)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to mount"))
    func aStoreOnAReadOnlyMountIsRead() throws {
        let scratch = try Scratch()
        try Self.storeWithOneRun(scratch)
        // Closed cleanly: no -wal and no -shm, which a WAL reader would have to create.
        #expect(!FileManager.default.fileExists(atPath: scratch.state + "/renkei.db-shm"))
        #expect(!FileManager.default.fileExists(atPath: scratch.state + "/renkei.db-wal"))
        try Self.readOnlyMount(of: scratch.state, in: scratch) { mounted in
            for command in [["history"], ["show", "1"], ["audit", "--verify"]] {
                let read = try execute(renkeictl, command + ["--state", mounted])
                #expect(read.status == 0, "\(command): \(read.stderr)")
                #expect(!read.stderr.contains("may be missing"), "nothing is missing from this view: \(read.stderr)")
                if command == ["history"] { #expect(read.stdout.contains("quick")) }
            }
        }
    }

    @Test(.enabled(if: getuid() == 0, "needs root to mount"))
    func aReadOnlyCopyWithAnUnreadableWALSaysTheViewMayLackTheNewestWrites() async throws {
        let scratch = try Scratch()
        try Self.storeWithOneRun(scratch)
        // A second run committed to the WAL of a store this process keeps open, as renkeid would.
        let live = try RunStore.openForWriting(at: scratch.state + "/renkei.db", group: nil)
        defer { live.close() }
        let job = Job(name: JobName("quick")!, steps: [Step(name: "a", command: .argv(["/bin/true"]))], definitionHash: "h")
        _ = try await live.enqueue(NewRun(job: job, logicalTime: LogicalTime(epochSeconds: 1_795_987_800, zoneIdentifier: "UTC"), trigger: .manual),
                                   owner: .current, at: Date())
        // The database and its WAL copied (by cp, another process: this one keeps its locks),
        // without the -shm, onto what becomes a read-only mount.
        let copy = scratch.root + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for file in ["renkei.db", "renkei.db-wal"] {
            #expect(try execute("/bin/cp", [scratch.state + "/" + file, copy + "/" + file]).status == 0)
        }
        var wal = stat()
        try #require(stat(copy + "/renkei.db-wal", &wal) == 0 && wal.st_size > 0)
        try Self.readOnlyMount(of: copy, in: scratch) { mounted in
            let read = try execute(renkeictl, ["history", "--state", mounted])
            #expect(read.status == 0, "\(read.stderr)")
            #expect(read.stdout.contains("quick"))
            #expect(read.stderr.contains("renkeictl: note: \(mounted) cannot be written (read-only?), so \(mounted)/renkei.db-wal (\(wal.st_size) bytes) could not be read: the newest runs may be missing"),
                    "\(read.stderr)")
        }
    }

    // MARK: - 3. The operators' group renkeid really uses

    @Test(.enabled(if: getuid() == 0, "needs root to create test users"))
    func aRefusalNamesTheOperatorsGroupRenkeidWasGiven() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", Self.quickJob)
        let users = try TestUsers(operators: 0, outsiders: 1)
        defer { users.remove() }
        let outsider = users.outsiders[0]
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--operators-group", users.group])
        defer { daemon.stop() }

        // The socket's mode turns the outsider away at connect: renkeictl names the group from the socket file.
        let refused = try control.ctl(["status"], as: outsider)
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("permission denied on \(control.socket): only root, renkeid's user and members of the operators' group \(users.group) may use renkeid"), "\(refused.stderr)")
        #expect(refused.stderr.contains("usermod -aG \(users.group) \(outsider)"))
        #expect(!refused.stderr.contains("(renkei)") && !refused.stderr.contains("-aG renkei "))

        // Past the socket's mode, renkeid's own refusal names the group and its user.
        chmod(control.socket, 0o666)
        let answered = try control.ctl(["jobs"], as: outsider)
        #expect(answered.status == 4, "\(answered.stderr)")
        #expect(answered.stderr.contains("is not root, renkeid's user (root) or a member of the operators' group '\(users.group)'"), "\(answered.stderr)")
    }

    /// renkeid gives the state directory and the store the operators' group it was given, so the
    /// operators it lets in through the socket may read `history` and `show` too.
    @Test(.enabled(if: getuid() == 0, "needs root to create test users"))
    func theOperatorsGroupRenkeidWasGivenMayReadTheStore() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", Self.quickJob)
        let users = try TestUsers(operators: 1, outsiders: 1)
        defer { users.remove() }
        let control = Control(scratch: scratch)
        let daemon = try control.daemon(["--operators-group", users.group])
        #expect(try control.ctl(["run", "quick", "--wait"]).status == 0)
        daemon.stop()
        let group = try #require(getgrnam(users.group)).pointee.gr_gid
        for path in [scratch.state, scratch.state + "/renkei.db"] {
            var status = stat()
            #expect(stat(path, &status) == 0 && status.st_gid == group, "\(path) is in group \(status.st_gid), not \(users.group)")
        }
        let member = try control.ctl(["history"], as: users.operators[0])
        #expect(member.status == 0, "\(member.stderr)")
        #expect(member.stdout.contains("quick"))
        #expect(try control.ctl(["history"], as: users.outsiders[0]).status == 4)
    }

    // MARK: - 4. A daemon that does not answer

    @Test func aStoppedDaemonIsReportedAsNotAnsweringWithWhatToRun() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", Self.quickJob)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }
        let before = try control.ctl(["status"])
        try #require(before.status == 0, "\(before.stderr)")

        daemon.signal(SIGSTOP)
        defer { daemon.signal(SIGCONT) }
        let stopped = try control.ctl(["status", "--timeout", "2"])
        #expect(stopped.status == 3, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("renkeid did not answer within 2 s on \(control.socket): it may be stopped (SIGSTOP, a debugger) or overloaded"), "\(stopped.stderr)")
        #expect(stopped.stderr.contains("systemctl status renkeid"))
        #expect(stopped.stderr.contains("systemctl kill -s CONT renkeid"))
        #expect(!stopped.stderr.contains("closed the connection"))

        daemon.signal(SIGCONT)
        let resumed = try control.ctl(["status"])
        #expect(resumed.status == 0, "\(resumed.stderr)")

        let bad = try control.ctl(["status", "--timeout", "0"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--timeout must be at least 1 second"))
    }

    // MARK: - 5. Control characters shown in jobs, status, check and messages

    /// ESC (clear screen), a CR that would overwrite the line, LF, DEL, C1 CSI; no NUL (argv cannot carry one).
    static let hostile = "ok\u{1B}[2J\rforged 1 root accepted\nline2\u{7F}del\u{9B}31m"
    static let shown = "ok\\e[2J\\rforged 1 root accepted\\nline2\\x7fdel\\u{9b}31m"

    static func noControlCharacters(_ text: String) -> Bool {
        !text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    @Test func checkShowsAJobDescriptionsControlCharacters() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", "description: \"ok\\e[2J\\rforged\\x7f\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let check = try Control(scratch: scratch).ctl(["check"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("— ok\\e[2J\\rforged\\x7f"), "\(check.stdout)")
        #expect(Self.noControlCharacters(check.stdout))
    }

    @Test func statusJobsHoldAndRefusalsShowControlCharacters() throws {
        let scratch = try Scratch()
        scratch.writeJob("quick", Self.quickJob)
        let control = Control(scratch: scratch)
        let daemon = try control.daemon()
        defer { daemon.stop() }

        let hold = try control.ctl(["hold", "quick", "--reason", Self.hostile])
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(Self.noControlCharacters(hold.stdout), "\(hold.stdout)")

        let status = try control.ctl(["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains(Self.shown), "\(status.stdout)")
        #expect(Self.noControlCharacters(status.stdout), "\(status.stdout)")

        let jobs = try control.ctl(["jobs"])
        #expect(jobs.status == 0, "\(jobs.stderr)")
        #expect(jobs.stdout.contains(Self.shown), "\(jobs.stdout)")
        #expect(Self.noControlCharacters(jobs.stdout))

        // renkeid's refusal repeats what the caller typed; it reaches the terminal shown, too.
        let refused = try control.ctl(["release", "no\u{1B}[2Jsuch", "--reason", "x"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("no\\e[2Jsuch"), "\(refused.stderr)")
        #expect(Self.noControlCharacters(refused.stderr), "\(refused.stderr)")
        // JSON stays JSON: the reason comes back exactly as it was held.
        let json = try control.ctl(["jobs", "--json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect((rows.first?["held"] as? String)?.contains(Self.hostile) == true, "\(json.stdout)")
    }
}
