import Foundation
import Testing
@testable import RenkeiRuntime
@testable import RenkeiStore

/// Run records are residents' data: the store and its directory are private whatever the umask.
@Suite(.serialized) struct StateModeTests {
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
    }

    /// `renkeictl` started from a shell whose umask is 022, as `make run` and a login shell are.
    static func underUmask022(_ arguments: [String]) throws -> Finished {
        try execute("/bin/sh", ["-c", "umask 022; exec \"$0\" \"$@\"", renkeictl] + arguments)
    }

    @Test func theStoreItsWALAndSHMAndTheStateDirectoryAreCreatedPrivateUnderUmask022() throws {
        let scratch = try Scratch()
        // A step that holds the store open (WAL and SHM exist) while the modes are looked at.
        scratch.writeJob("hold", "steps:\n  - name: a\n    run: [\"/bin/sh\", \"-c\", \"ls -l \(scratch.state) > \(scratch.root)/seen; stat -c '%n %a' \(scratch.state)/renkei.db* \(scratch.state) \\\"$RENKEI_WORK_DIR\\\" >> \(scratch.root)/seen\"]\n")
        let run = try Self.underUmask022(["run", "hold", "--local", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let seen = try String(contentsOfFile: scratch.root + "/seen", encoding: .utf8)
        #expect(seen.contains("\(scratch.state)/renkei.db 640"), "\(seen)")
        #expect(seen.contains("\(scratch.state)/renkei.db-wal 640"), "\(seen)")
        #expect(seen.contains("\(scratch.state)/renkei.db-shm 640"), "\(seen)")
        #expect(seen.contains("\(scratch.state) 750"), "\(seen)")
        #expect(seen.contains("\(scratch.state)/work/hold/1 750"), "\(seen)")
        #expect(Self.mode(scratch.state) == 0o750)
        #expect(Self.mode(scratch.state + "/renkei.db") == 0o640)
        #expect(Self.mode(scratch.state + "/locks") == 0o750)
        #expect(Self.mode(scratch.state + "/work") == 0o750)
    }

    @Test func anOlderStoreOthersCouldReadIsClosedToThemAtTheNextWritingOpen() throws {
        let scratch = try Scratch()
        scratch.writeJob("a", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        #expect(try Self.underUmask022(["run", "a", "--local", "--jobs", scratch.jobs, "--state", scratch.state]).status == 0)
        chmod(scratch.state + "/renkei.db", 0o644)
        #expect(try Self.underUmask022(["run", "a", "--local", "--jobs", scratch.jobs, "--state", scratch.state]).status == 0)
        #expect(Self.mode(scratch.state + "/renkei.db") == 0o640)
    }

    @Test func anExistingStateDirectoryOthersCanReadOrEnterIsRefusedWithTheChmodThatFixesIt() throws {
        let scratch = try Scratch()
        scratch.writeJob("a", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        mkdir(scratch.state, 0o755)
        chmod(scratch.state, 0o755)
        let refused = try Self.underUmask022(["run", "a", "--local", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("refusing the state directory \(scratch.state): every user can read and enter it (mode 0755)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("(fix: chmod o-rwx \(scratch.state))"))
        #expect(!FileManager.default.fileExists(atPath: scratch.state + "/renkei.db"), "nothing is written into it")

        chmod(scratch.state, 0o751)
        #expect(FileTrust.stateDirectoryProblem(scratch.state)?.contains("every user can enter it (mode 0751)") == true)
        #expect(throws: StateError.self) { try StateDirectory(scratch.state).prepare() }

        chmod(scratch.state, 0o750)
        #expect(try Self.underUmask022(["run", "a", "--local", "--jobs", scratch.jobs, "--state", scratch.state]).status == 0)
    }
}
