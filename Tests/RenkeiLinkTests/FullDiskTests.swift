import Foundation
import Glibc
import RenkeiCore
import Testing
@testable import RenkeiLink

/// A full file system, for real: a 2 MB tmpfs (mounting needs root).
@Suite(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct FullDiskTests {
    /// Mounts a 2 MB tmpfs at `path`; nil (and an issue recorded) when that fails.
    func smallFileSystem(at path: String) -> Bool {
        mkdir(path, 0o755)
        guard let mounted = try? execute("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", path]), mounted.status == 0 else {
            Issue.record("cannot mount a tmpfs at \(path) although root")
            return false
        }
        return true
    }

    func unmount(_ path: String) { _ = try? execute("/bin/umount", [path]) }

    @Test func deliveringToAFullDiskLeavesNothingAndKeepsWhatWasThere() async throws {
        let scratch = Scratch()
        let full = scratch.root + "/full"
        guard smallFileSystem(at: full) else { return }
        defer { unmount(full) }
        scratch.write(full + "/IDO.csv", "the previous delivery")
        scratch.write(scratch.work + "/out.csv", randomData(5_000_000))
        let performed = await perform(scratch.deliverRequest(.init(source: scratch.work + "/out.csv", directory: full, name: "IDO.csv", ifExists: .replace)))
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .exit)
        #expect(failure.message.hasPrefix("no space left on \(full) (device full) while writing IDO.csv: "), "\(failure.message)")
        #expect(failure.message.contains("of 5 MB written"), "\(failure.message)")
        #expect(failure.message.hasSuffix("Free space there and rerun"))
        #expect(scratch.names(in: full) == ["IDO.csv"], "no temporary or partial file, hidden or not")
        #expect(contents(full + "/IDO.csv") == "the previous delivery")
    }

    @Test func deliveringToAFullEmptyDiskLeavesItEmpty() async throws {
        let scratch = Scratch()
        let full = scratch.root + "/full"
        guard smallFileSystem(at: full) else { return }
        defer { unmount(full) }
        scratch.write(scratch.work + "/out.csv", randomData(5_000_000))
        let performed = await perform(scratch.deliverRequest(.init(source: scratch.work + "/out.csv", directory: full, name: "IDO.csv", ifExists: .fail,
                                                                   doneFileName: "IDO.csv.done")))
        #expect(performed.failure?.message.hasPrefix("no space left on \(full)") == true)
        #expect(scratch.names(in: full).isEmpty)
    }

    @Test func receivingIntoAFullWorkDirectoryLeavesNothingAndKeepsTheSource() async throws {
        let scratch = Scratch()
        let work = scratch.root + "/full"
        guard smallFileSystem(at: work) else { return }
        defer { unmount(work) }
        scratch.write(scratch.source + "/IDO.csv", randomData(5_000_000))
        var request = scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", doneFilePattern: "IDO.done", take: .move))
        request.workDirectory = work
        scratch.write(scratch.source + "/IDO.done", "")
        let performed = await perform(request)
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .exit)
        #expect(failure.message.hasPrefix("no space left on \(work)/in (device full) while writing IDO.csv: "), "\(failure.message)")
        #expect(scratch.names(in: work + "/in").isEmpty)
        #expect(scratch.names(in: scratch.source) == ["IDO.csv", "IDO.done"], "the source stays")
    }
}
