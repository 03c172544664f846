import Glibc
import Testing
@testable import RenkeiLink

/// The judgement alone: looks, clocks and writers passed in, no files.
@Suite struct ArrivalTests {
    func file(_ name: String, size: Int64 = 100, modifiedAt: Int = 1_000, inode: UInt64 = 7) -> SourceLook.File {
        var raw = stat()
        raw.st_ino = __ino_t(inode)
        raw.st_size = Int(size)
        raw.st_mtim.tv_sec = modifiedAt
        raw.st_mode = S_IFREG | 0o644
        return SourceLook.File(name: name, status: FileStatus(raw))
    }

    func look(_ data: [SourceLook.File], done: [SourceLook.File] = []) -> SourceLook {
        SourceLook(directory: .listed, data: data, done: done)
    }

    let nobody: (FileStatus) -> [OpenWriters.Writer] = { _ in [] }

    @Test func aFileQuietLongerThanTheStableTimeAtFirstSightIsCompleteAtOnce() {
        var arrival = Arrival(completion: .stable(60))
        let verdict = arrival.judge(look([file("IDO.csv", modifiedAt: 1_000)]), wallNow: 100_000, monotonicNow: 5, writers: nobody)
        #expect(verdict == .complete(file("IDO.csv", modifiedAt: 1_000), doneFiles: []))
    }

    @Test func aFreshFileWaitsTheRestOfTheStableTime() {
        var arrival = Arrival(completion: .stable(60))
        let verdict = arrival.judge(look([file("IDO.csv", modifiedAt: 1_000)]), wallNow: 1_020, monotonicNow: 5, writers: nobody)
        guard case .waiting(.changing(_, let quiet), let again) = verdict else { Issue.record("\(verdict)"); return }
        #expect(quiet == 20)
        #expect(again == 40)
        // Unchanged 40 s later (monotonic), it is complete.
        #expect(arrival.judge(look([file("IDO.csv", modifiedAt: 1_000)]), wallNow: 1_060, monotonicNow: 45, writers: nobody)
            == .complete(file("IDO.csv", modifiedAt: 1_000), doneFiles: []))
    }

    @Test func aChangeSeenStartsTheStableTimeAgainWhateverTheModificationTimeSays() {
        var arrival = Arrival(completion: .stable(10))
        _ = arrival.judge(look([file("IDO.csv", size: 10, modifiedAt: 1_000)]), wallNow: 1_005, monotonicNow: 0, writers: nobody)
        // It grew; its mtime was then set back an hour (cp -p): still 10 s from now.
        let verdict = arrival.judge(look([file("IDO.csv", size: 20, modifiedAt: -2_600)]), wallNow: 1_008, monotonicNow: 3, writers: nobody)
        guard case .waiting(.changing, let again) = verdict else { Issue.record("\(verdict)"); return }
        #expect(again == 10)
    }

    @Test func aWriterKeepsAQuietFileWaiting() {
        var arrival = Arrival(completion: .stable(1))
        let writer = OpenWriters.Writer(pid: 4242, command: "juki-export")
        let verdict = arrival.judge(look([file("IDO.csv")]), wallNow: 100_000, monotonicNow: 0, writers: { _ in [writer] })
        #expect(verdict == .waiting(.openForWriting(file("IDO.csv"), [writer]), lookAgainIn: nil))
        #expect(verdict != .complete(file("IDO.csv"), doneFiles: []))
    }

    @Test func twoMatchesAreAmbiguousWhateverTheCompletion() {
        for completion in [Arrival.Completion.stable(1), .doneFile("*.done")] {
            var arrival = Arrival(completion: completion)
            #expect(arrival.judge(look([file("A.csv"), file("B.csv", inode: 8)]), wallNow: 0, monotonicNow: 0, writers: nobody) == .ambiguous(["A.csv", "B.csv"]))
        }
    }

    @Test func aDoneFileCompletesTheDataFile() {
        var arrival = Arrival(completion: .doneFile("IDO.done"))
        let data = file("IDO.csv", modifiedAt: 100_000)
        #expect(arrival.judge(look([data]), wallNow: 100_000, monotonicNow: 0, writers: nobody) == .waiting(.noDoneFile(data), lookAgainIn: nil))
        let done = file("IDO.done", size: 0, inode: 9)
        #expect(arrival.judge(look([data], done: [done]), wallNow: 100_000, monotonicNow: 0, writers: nobody) == .complete(data, doneFiles: [done]))
        #expect(arrival.judge(look([], done: [done]), wallNow: 100_000, monotonicNow: 0, writers: nobody) == .waiting(.doneFileWithoutData(["IDO.done"]), lookAgainIn: nil))
    }

    @Test func aMissingDirectoryIsWaitedFor() {
        var arrival = Arrival(completion: .stable(1))
        #expect(arrival.judge(SourceLook(directory: .missing, data: [], done: []), wallNow: 0, monotonicNow: 0, writers: nobody)
            == .waiting(.directoryMissing, lookAgainIn: nil))
    }
}
