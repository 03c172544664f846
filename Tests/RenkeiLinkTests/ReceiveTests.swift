import Foundation
import Glibc
import RenkeiCore
import Testing
@testable import RenkeiLink

@Suite struct ReceiveTests {
    @Test func aFileAlreadyThereIsCopiedInWithItsHash() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/IDO_20261201.csv", "1,山田,転入\n2,佐藤,転出\n")
        // An old file: a rerun days after, with wait_until long past.
        let old = timespec(tv_sec: 1_000_000, tv_nsec: 0)
        utimensat(AT_FDCWD, scratch.source + "/IDO_20261201.csv", [old, old], 0)
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261201*.csv", stableForSeconds: 60,
                                                                   waitUntil: Now.wall - 86_400, waitUntilText: "07:00")))
        #expect(performed.failure == nil)
        let file = try #require(performed.file)
        #expect(file.path == scratch.work + "/in/IDO_20261201.csv")
        #expect(file.source == scratch.source + "/IDO_20261201.csv")
        #expect(file.outcome == .received)
        #expect(file.modifiedAt == 1_000_000)
        #expect(file.bytes == Int64("1,山田,転入\n2,佐藤,転出\n".utf8.count))
        #expect(file.sha256 == sha256sum(file.path))
        #expect(contents(file.path) == "1,山田,転入\n2,佐藤,転出\n")
        #expect(FileManager.default.fileExists(atPath: scratch.source + "/IDO_20261201.csv"), "take: copy leaves the source")
        #expect(scratch.names(in: scratch.work + "/in") == ["IDO_20261201.csv"], "no temporary file stays behind")
        #expect(performed.said.contains { $0.hasPrefix("received IDO_20261201.csv from \(scratch.source): 32 bytes, sha256 \(file.sha256.prefix(12))…") })
        #expect(performed.took < 30, "a file quiet for days is not waited on")
    }

    @Test func aRerunReplacesTheCopyInTheWorkDirectory() async throws {
        let scratch = Scratch()
        mkdir(scratch.work + "/in", 0o750)
        scratch.write(scratch.work + "/in/IDO.csv", "stale")
        scratch.write(scratch.source + "/IDO.csv", "fresh")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", doneFilePattern: "IDO.csv.done")))
        #expect(performed.failure?.errorClass == .late, "no done file, no wait_until: late at once")
        scratch.write(scratch.source + "/IDO.csv.done", "")
        let again = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", doneFilePattern: "IDO.csv.done")))
        #expect(again.failure == nil)
        #expect(contents(scratch.work + "/in/IDO.csv") == "fresh")
    }

    @Test func aSlowWriterIsNotTakenBeforeItHasFinished() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO_20261201.csv"
        // Ten records, one every 0.3 s, through one descriptor kept open the whole time.
        let writer = try Child("for i in 1 2 3 4 5 6 7 8 9 10; do printf 'record %02d\\n' $i; sleep 0.3; done >> '\(path)'")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_*.csv", stableForSeconds: 1,
                                                                   waitUntil: Now.wall + 20, waitUntilText: "in 20 s")))
        #expect(performed.failure == nil, "\(performed.failure?.message ?? "")")
        #expect(await writer.finished() == 0)
        let file = try #require(performed.file)
        let expected = (1...10).map { String(format: "record %02d\n", $0) }.joined()
        #expect(contents(file.path) == expected)
        #expect(contents(path) == expected)
        #expect(file.sha256 == sha256sum(path))
    }

    @Test func aWriterThatPausesLongerThanTheStableTimeButKeepsTheFileOpenIsWaitedFor() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO.csv"
        // Writes, stays silent three times the stable time with the file open, writes the rest,
        // closes it, and lives on (a process alive does not matter once the file is closed).
        let writer = try Child("exec 3>>'\(path)'; printf 'first half\\n' >&3; sleep 3; printf 'second half\\n' >&3; exec 3>&-; exec sleep 30")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", stableForSeconds: 1,
                                                                   waitUntil: Now.wall + 30, waitUntilText: "in 30 s")))
        #expect(performed.failure == nil, "\(performed.failure?.message ?? "")")
        #expect(contents(try #require(performed.file).path) == "first half\nsecond half\n")
        writer.kill()
    }

    @Test func aFileStillOpenForWritingAtTheLimitIsLateAndTheMessageSaysWhoHasIt() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO.csv"
        // The writer outlives any stall of a loaded machine's test threads (it is killed below):
        // this test once waited 70 s for a thread, the writer had ended and the file was taken.
        let writer = try Child("exec 3>>'\(path)'; printf 'half\\n' >&3; exec sleep 600")
        while status(path)?.st_size != 5 { try await Task.sleep(for: .milliseconds(20)) }
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", stableForSeconds: 0.5,
                                                                   waitUntil: Now.wall + 2, waitUntilText: "07:00")))
        writer.kill()
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .late)
        #expect(failure.message.hasPrefix("IDO.csv did not arrive in \(scratch.source) by 07:00"))
        #expect(failure.message.contains("but process \(writer.pid) (sleep) still has it open for writing"), "\(failure.message)")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/in/IDO.csv"))
    }

    @Test func aSlowWriterWithADoneFileIsTakenWhenTheDoneFileAppears() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO_20261201.csv"
        let writer = try Child("for i in 1 2 3 4 5 6 7 8; do printf 'record %02d\\n' $i; sleep 0.25; done >> '\(path)'; : > '\(path).done'")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261201.csv", doneFilePattern: "IDO_20261201.csv.done",
                                                                   waitUntil: Now.wall + 20, waitUntilText: "in 20 s")))
        #expect(performed.failure == nil, "\(performed.failure?.message ?? "")")
        #expect(await writer.finished() == 0)
        let expected = (1...8).map { String(format: "record %02d\n", $0) }.joined()
        let file = try #require(performed.file)
        #expect(contents(file.path) == expected)
        #expect(file.sha256 == sha256sum(path))
        #expect(performed.said.first?.hasPrefix("waiting until in 20 s for IDO_20261201.csv in \(scratch.source)") == true)
    }

    @Test func withoutWaitUntilAFreshFileIsStillGivenItsStableTime() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/IDO.csv", "just written")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", stableForSeconds: 1)))
        #expect(performed.failure == nil, "\(performed.failure?.message ?? "")")
        #expect(performed.said.first?.hasPrefix("waiting for IDO.csv in \(scratch.source) to be written completely") == true, "\(performed.said)")
        #expect(contents(scratch.work + "/in/IDO.csv") == "just written")
    }

    @Test func aFileThatChangesWhileItIsCopiedIsNotTaken() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO.csv"
        scratch.write(path, Data(count: 200_000_000))
        scratch.write(scratch.source + "/IDO.done", "")
        // A sender that wrote its done file too early and goes on appending.
        let writer = try Child("while :; do printf x >> '\(path)'; sleep 0.01; done")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", doneFilePattern: "IDO.done", take: .move)))
        writer.kill()
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .exit)
        #expect(failure.message.hasPrefix("IDO.csv in \(scratch.source) changed while it was being copied"), "\(failure.message)")
        #expect(scratch.names(in: scratch.work + "/in").isEmpty, "the copy is dropped")
        #expect(scratch.names(in: scratch.source) == ["IDO.csv", "IDO.done"], "the source stays")
    }

    @Test func nothingArrivingByTheLimitIsLate() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/IDO_20261130.csv", "yesterday's")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261201.csv", stableForSeconds: 1,
                                                                   waitUntil: Now.wall + 1.5, waitUntilText: "07:00")))
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .late)
        #expect(failure.message.hasPrefix("IDO_20261201.csv did not arrive in \(scratch.source) by 07:00: no file matching it is there"), "\(failure.message)")
        #expect(performed.took >= 1, "it waited")
        #expect(performed.took < 30)
        #expect(performed.result.files.isEmpty)
    }

    @Test func withoutWaitUntilAMissingFileIsLateAtOnce() async throws {
        let scratch = Scratch()
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261201.csv", stableForSeconds: 60)))
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .late)
        #expect(failure.message.contains("IDO_20261201.csv is not in \(scratch.source)"))
        #expect(performed.took < 30, "no waiting at all (stable_for is 60 s)")
    }

    @Test func aDirectoryThatNeverAppearsIsNamedInTheLateMessage() async throws {
        let scratch = Scratch()
        let missing = scratch.root + "/not-mounted"
        let performed = await perform(scratch.receiveRequest(.init(directory: missing, pattern: "IDO.csv", stableForSeconds: 1,
                                                                   waitUntil: Now.wall + 1.5, waitUntilText: "07:00")))
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .late)
        #expect(failure.message.contains("the directory \(missing) does not exist"), "\(failure.message)")
    }

    @Test func aDirectoryCreatedWhileWaitingIsWatchedOnceItIsThere() async throws {
        let scratch = Scratch()
        let later = scratch.root + "/mounted-later"
        let maker = try Child("sleep 0.5; mkdir '\(later)'; sleep 0.5; printf data > '\(later)/IDO.csv'; : > '\(later)/IDO.done'")
        let performed = await perform(scratch.receiveRequest(.init(directory: later, pattern: "IDO.csv", doneFilePattern: "IDO.done",
                                                                   waitUntil: Now.wall + 20, waitUntilText: "in 20 s")))
        #expect(performed.failure == nil, "\(performed.failure?.message ?? "")")
        #expect(contents(scratch.work + "/in/IDO.csv") == "data")
        _ = await maker.finished()
    }

    @Test func twoMatchingFilesFailAtOnceNamingBoth() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/IDO_20261201_a.csv", "a")
        scratch.write(scratch.source + "/IDO_20261201_b.csv", "b")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261201*.csv", stableForSeconds: 1,
                                                                   waitUntil: Now.wall + 60, waitUntilText: "07:00")))
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .exit)
        #expect(failure.message == "2 files match IDO_20261201*.csv in \(scratch.source): IDO_20261201_a.csv, IDO_20261201_b.csv — exactly one must; remove the wrong ones and rerun")
        #expect(performed.took < 30, "at once, not at the limit")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/in"))
    }

    @Test func moveRemovesTheSourceAndTheDoneFileOnlyAfterSuccess() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/IDO.csv", "records")
        scratch.write(scratch.source + "/IDO.done", "")
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO.csv", doneFilePattern: "IDO.done", take: .move)))
        #expect(performed.failure == nil)
        #expect(contents(scratch.work + "/in/IDO.csv") == "records")
        #expect(scratch.names(in: scratch.source).isEmpty)
        #expect(performed.said.last == "removed IDO.csv, IDO.done from \(scratch.source) (take: move)")
    }

    func receipt(_ sha256: String, date: String) -> LinkRequest.Receipt {
        LinkRequest.Receipt(runID: 812, logicalDate: date, path: "/srv/juki/outbox/IDO_\(date).csv", sha256: sha256, bytes: 7, at: Now.wall - 86_400)
    }

    @Test func contentReceivedForAnotherDateIsRefusedAndTheSourceStaysEvenWithMove() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO_20261202.csv"
        scratch.write(path, "records")
        let sha = try #require(sha256sum(path))
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261202.csv", stableForSeconds: 0, take: .move),
                                                             date: "2026-12-02", receipts: [receipt(sha, date: "2026-12-01")]))
        let failure = try #require(performed.failure)
        #expect(failure.errorClass == .duplicate)
        #expect(failure.message.hasPrefix("the content of IDO_20261202.csv is identical to what run 812 received for 2026-12-01 (sha256 \(sha.prefix(12))…)"))
        #expect(failure.message.hasSuffix("if it really is new data, rerun with on_duplicate: accept"))
        #expect(performed.file?.outcome == .duplicate)
        #expect(performed.file?.sha256 == sha)
        #expect(FileManager.default.fileExists(atPath: path), "the source stays")
        #expect(scratch.names(in: scratch.work + "/in").isEmpty, "no copy stays in the work directory")
    }

    @Test func contentReceivedForAnotherDateIsTakenWithAccept() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO_20261202.csv"
        scratch.write(path, "records")
        let sha = try #require(sha256sum(path))
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261202.csv", stableForSeconds: 0, take: .move, onDuplicate: .accept),
                                                             date: "2026-12-02", receipts: [receipt(sha, date: "2026-12-01")]))
        #expect(performed.failure == nil)
        #expect(performed.file?.outcome == .receivedDuplicate)
        #expect(performed.file?.note?.contains("run 812") == true)
        #expect(performed.file?.note?.contains("2026-12-01") == true)
        #expect(contents(scratch.work + "/in/IDO_20261202.csv") == "records")
        #expect(!FileManager.default.fileExists(atPath: path), "moved")
    }

    @Test func theSameContentForTheSameDateIsARerunNotADuplicate() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/IDO_20261201.csv"
        scratch.write(path, "records")
        let sha = try #require(sha256sum(path))
        let performed = await perform(scratch.receiveRequest(.init(directory: scratch.source, pattern: "IDO_20261201.csv", stableForSeconds: 0),
                                                             date: "2026-12-01", receipts: [receipt(sha, date: "2026-12-01"), receipt("0" + sha.dropFirst(), date: "2026-11-30")]))
        #expect(performed.failure == nil)
        #expect(performed.file?.outcome == .received)
    }

    @Test func aStepAskingForBothOrNeitherFails() {
        let both = LinkRequest(job: "j", runID: 1, step: "s", logicalDate: "2026-12-01", workDirectory: "/tmp",
                               receive: .init(directory: "/tmp", pattern: "x"), deliver: .init(source: "/tmp/x", directory: "/tmp", name: "x"), resultPath: "/tmp/r")
        #expect(LinkStepProcess.perform(both) { _ in }.failure?.errorClass == .exit)
        let neither = LinkRequest(job: "j", runID: 1, step: "s", logicalDate: "2026-12-01", workDirectory: "/tmp", resultPath: "/tmp/r")
        #expect(LinkStepProcess.perform(neither) { _ in }.failure?.errorClass == .exit)
    }
}
