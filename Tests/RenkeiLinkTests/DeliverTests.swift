import Foundation
import Glibc
import RenkeiCore
import Testing
@testable import RenkeiLink

@Suite struct DeliverTests {
    func deliver(_ scratch: Scratch, _ text: String, ifExists: LinkStep.IfExists = .fail, generations: Int = 3, doneFile: String? = nil,
                 receipts: [LinkRequest.Receipt] = [], force: Bool = false) async -> Performed {
        let source = scratch.work + "/out.csv"
        scratch.write(source, text)
        return await perform(scratch.deliverRequest(.init(source: source, directory: scratch.target, name: "IDO.csv", ifExists: ifExists,
                                                          generations: generations, doneFileName: doneFile, mode: 0o640),
                                                    receipts: receipts, force: force))
    }

    @Test func theFileIsPlacedWholeWithItsModeAndNothingElse() async throws {
        let scratch = Scratch()
        let performed = await deliver(scratch, "1,山田\n")
        #expect(performed.failure == nil)
        let file = try #require(performed.file)
        #expect(file.path == scratch.target + "/IDO.csv")
        #expect(file.source == scratch.work + "/out.csv")
        #expect(file.outcome == .delivered)
        #expect(file.sha256 == sha256sum(scratch.target + "/IDO.csv"))
        #expect(contents(scratch.target + "/IDO.csv") == "1,山田\n")
        #expect(try #require(status(scratch.target + "/IDO.csv")).st_mode & 0o7777 == 0o640)
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"])
        #expect(performed.said.last == "delivered IDO.csv to \(scratch.target): 9 bytes, sha256 \(file.sha256.prefix(12))…")
    }

    @Test func aMissingTargetDirectoryIsNeverCreated() async throws {
        let scratch = Scratch()
        scratch.write(scratch.work + "/out.csv", "x")
        let missing = scratch.root + "/fukushi/inbox"
        let performed = await perform(scratch.deliverRequest(.init(source: scratch.work + "/out.csv", directory: missing, name: "IDO.csv")))
        #expect(performed.failure == LinkResult.Failure(errorClass: .exit, message: "target directory \(missing) does not exist: the team that runs the target system must create it (Renkei never creates a target directory)"))
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func aMissingSourceIsNamed() async throws {
        let scratch = Scratch()
        let performed = await perform(scratch.deliverRequest(.init(source: scratch.work + "/out.csv", directory: scratch.target, name: "IDO.csv")))
        #expect(performed.failure?.errorClass == .exit)
        #expect(performed.failure?.message.hasPrefix("the file to deliver, \(scratch.work)/out.csv, does not exist") == true)
        #expect(scratch.names(in: scratch.target).isEmpty)
    }

    @Test func ifExistsFailLeavesTheFileThereAlone() async throws {
        let scratch = Scratch()
        scratch.write(scratch.target + "/IDO.csv", "not taken yet")
        let performed = await deliver(scratch, "new", ifExists: .fail)
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .exit)
        #expect(failure.message.hasPrefix("IDO.csv already exists in \(scratch.target) (if_exists: fail)"))
        #expect(contents(scratch.target + "/IDO.csv") == "not taken yet")
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"])
    }

    @Test func ifExistsReplaceReplacesInOneRename() async throws {
        let scratch = Scratch()
        scratch.write(scratch.target + "/IDO.csv", "old")
        let performed = await deliver(scratch, "new", ifExists: .replace)
        #expect(performed.failure == nil)
        #expect(contents(scratch.target + "/IDO.csv") == "new")
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"])
    }

    @Test func ifExistsKeepRotatesGenerationsAndDropsTheOldest() async throws {
        let scratch = Scratch()
        for text in ["first", "second", "third"] {
            #expect(await deliver(scratch, text, ifExists: .keep, generations: 2).failure == nil)
        }
        #expect(scratch.names(in: scratch.target) == ["IDO.csv", "IDO.csv.1", "IDO.csv.2"])
        #expect(contents(scratch.target + "/IDO.csv") == "third")
        #expect(contents(scratch.target + "/IDO.csv.1") == "second")
        #expect(contents(scratch.target + "/IDO.csv.2") == "first")
        let fourth = await deliver(scratch, "fourth", ifExists: .keep, generations: 2)
        #expect(fourth.file?.note == "kept the previous one as IDO.csv.1")
        #expect(scratch.names(in: scratch.target) == ["IDO.csv", "IDO.csv.1", "IDO.csv.2"], "the oldest is gone")
        #expect(contents(scratch.target + "/IDO.csv") == "fourth")
        #expect(contents(scratch.target + "/IDO.csv.1") == "third")
        #expect(contents(scratch.target + "/IDO.csv.2") == "second")
        // One generation: the previous one only.
        #expect(await deliver(scratch, "fifth", ifExists: .keep, generations: 1).failure == nil)
        #expect(contents(scratch.target + "/IDO.csv.1") == "fourth")
        #expect(contents(scratch.target + "/IDO.csv") == "fifth")
    }

    func receipt(_ scratch: Scratch, sha256: String) -> LinkRequest.Receipt {
        LinkRequest.Receipt(runID: 812, logicalDate: "2026-12-01", path: scratch.target + "/IDO.csv", sha256: sha256, bytes: 3, at: Now.wall - 60)
    }

    @Test func theSameContentDeliveredBeforeIsNotWrittenAgain() async throws {
        let scratch = Scratch()
        #expect(await deliver(scratch, "abc", ifExists: .replace).failure == nil)
        let before = try #require(status(scratch.target + "/IDO.csv"))
        let sha = try #require(sha256sum(scratch.target + "/IDO.csv"))
        for force in [false, true] {
            let again = await deliver(scratch, "abc", ifExists: .replace, receipts: [receipt(scratch, sha256: sha)], force: force)
            #expect(again.failure == nil)
            #expect(again.file?.outcome == .alreadyDelivered)
            #expect(again.file?.note?.hasPrefix("already delivered by run 812 at ") == true)
        }
        let after = try #require(status(scratch.target + "/IDO.csv"))
        #expect(after.st_ino == before.st_ino)
        #expect(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec)
        #expect(after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec == before.st_ctim.tv_nsec)
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"])
    }

    @Test func differentContentForADeliveredDateNeedsForce() async throws {
        let scratch = Scratch()
        #expect(await deliver(scratch, "abc", ifExists: .replace).failure == nil)
        let sha = try #require(sha256sum(scratch.target + "/IDO.csv"))
        let refused = await deliver(scratch, "xyz", ifExists: .replace, receipts: [receipt(scratch, sha256: sha)])
        let failure = try #require(refused.failure)
        #expect(failure.errorClass == .duplicate)
        #expect(failure.message.hasPrefix("IDO.csv was already delivered to \(scratch.target) for 2026-12-01 by run 812 at "))
        #expect(failure.message.hasSuffix("a rerun may replace it only with --force and a reason"))
        #expect(refused.file?.outcome == .refused)
        #expect(contents(scratch.target + "/IDO.csv") == "abc")
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"])

        let forced = await deliver(scratch, "xyz", ifExists: .replace, receipts: [receipt(scratch, sha256: sha)], force: true)
        #expect(forced.failure == nil)
        #expect(forced.file?.outcome == .delivered)
        #expect(contents(scratch.target + "/IDO.csv") == "xyz")
    }

    @Test func theDoneFileAppearsOnlyAfterTheDataFileIsInPlace() async throws {
        let scratch = Scratch()
        let events = try NameEvents(scratch.target)
        let performed = await deliver(scratch, "records", ifExists: .replace, doneFile: "IDO.csv.done")
        #expect(performed.failure == nil)
        #expect(contents(scratch.target + "/IDO.csv.done") == "")
        #expect(try #require(status(scratch.target + "/IDO.csv.done")).st_mode & 0o7777 == 0o640)
        let appeared = events.read()
        let data = try #require(appeared.firstIndex(of: "IDO.csv"), "\(appeared)")
        let done = try #require(appeared.firstIndex(of: "IDO.csv.done"), "\(appeared)")
        #expect(data < done, "\(appeared)")
        #expect(scratch.names(in: scratch.target) == ["IDO.csv", "IDO.csv.done"])
    }

    @Test func temporaryFilesOfKilledDeliveriesAreRemovedButNotThoseOfLiveOnes() async throws {
        let scratch = Scratch()
        let dead = scratch.target + "/.IDO.csv.renkei-tmp.4242.beef"
        let live = scratch.target + "/.IDO.csv.renkei-tmp.4243.cafe"
        scratch.write(dead, "half")
        scratch.write(live, "being written")
        // A live delivery's lock: flock conflicts between open file descriptions, even in one process.
        let holder = open(live, O_RDONLY | O_CLOEXEC)
        #expect(flock(holder, LOCK_EX) == 0)
        let performed = await deliver(scratch, "records", ifExists: .replace)
        #expect(performed.failure == nil)
        #expect(scratch.names(in: scratch.target) == [".IDO.csv.renkei-tmp.4243.cafe", "IDO.csv"])
        #expect(performed.said.prefix(2) == ["removed 1 temporary file(s) that killed deliveries left in \(scratch.target): .IDO.csv.renkei-tmp.4242.beef",
                                             "left the temporary file .IDO.csv.renkei-tmp.4243.cafe in \(scratch.target): a running step is writing it"])
        close(holder)
        #expect(await deliver(scratch, "records", ifExists: .replace).failure == nil)
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"])
    }
}

/// The names that appear in a directory (created, moved in), in order, by inotify.
final class NameEvents {
    let descriptor: Int32

    init(_ directory: String) throws {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0, inotify_add_watch(descriptor, directory, UInt32(IN_CREATE | IN_MOVED_TO)) >= 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    deinit { close(descriptor) }

    func read() -> [String] {
        var names: [String] = []
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(descriptor, buffer, size)
            guard count > 0 else { return names }
            var offset = 0
            while offset < count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let header = MemoryLayout<inotify_event>.size
                if event.len > 0 {
                    names.append(String(cString: (buffer + offset + header).assumingMemoryBound(to: CChar.self)))
                }
                offset += header + Int(event.len)
            }
        }
    }
}
