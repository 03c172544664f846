import Foundation
import Glibc
import RenkeiCore
import Synchronization
import Testing
@testable import RenkeiLink

/// The trigger watcher on real directories, real inotify and real writer processes.
@Suite struct TriggerWatcherTests {
    let job = JobName("kokuho-shikaku")!

    func watch(_ directory: String, done: String? = "shikaku_{date:%Y%m%d}.done", stableFor seconds: Int64 = 1,
               file: String = "shikaku_*.csv", job: JobName? = nil) -> TriggerWatch {
        let completion: LinkStep.Completion = done.map { .doneFile($0) } ?? .stable(JobDuration(seconds: seconds))
        let trigger = FileTrigger(path: directory, file: file, dateFromName: "shikaku_{date:%Y%m%d}.csv", completeWhen: completion)
        return TriggerWatch(job: job ?? self.job, trigger: trigger, zoneIdentifier: "Asia/Tokyo")
    }

    @Test func aFileArrivingWhileWatchedIsHandedOverOnceItsDoneFileIsThere() async throws {
        let scratch = Scratch()
        let (watcher, seen) = watching([watch(scratch.source)])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        let data = scratch.source + "/shikaku_20261201.csv"
        let before = Date().timeIntervalSince1970
        scratch.write(data, "1,山田\n2,佐藤\n")
        try await Task.sleep(for: .milliseconds(400))
        #expect(seen.all.isEmpty, "no done file yet")
        scratch.write(scratch.source + "/shikaku_20261201.done", "")
        let arrival = try #require(await seen.waitFor(1).first)
        #expect(arrival.job == job)
        #expect(arrival.path == data)
        #expect(arrival.sha256 == sha256sum(data))
        #expect(arrival.bytes == Int64("1,山田\n2,佐藤\n".utf8.count))
        #expect(arrival.logicalDate == JapaneseHolidays.Day(year: 2026, month: 12, day: 1))
        // When the file came (its ctime), between its writing and now, however late this task runs.
        #expect(arrival.arrivedAt >= before - 1 && arrival.arrivedAt <= Date().timeIntervalSince1970 + 1)
        #expect(arrival.date == arrival.logicalDate)
        // A rescan finds nothing new: the same unchanged file is not handed over twice.
        watcher.rescan()
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.all.count == 1)
    }

    @Test func aStableFileIsHandedOverOnceUnchangedForTheStableTime() async throws {
        let scratch = Scratch()
        let (watcher, seen) = watching([watch(scratch.source, done: nil, stableFor: 1)])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        let written = Now.monotonic
        scratch.write(scratch.source + "/shikaku_20261202.csv", "3,鈴木\n")
        let arrival = try #require(await seen.waitFor(1).first)
        let waited = seen.timed[0].at - written
        #expect(waited >= 0.95 && waited < 10, "handed over after \(waited) s")
        #expect(arrival.logicalDate == JapaneseHolidays.Day(year: 2026, month: 12, day: 2))
    }

    @Test func filesThatArrivedWhileNobodyWatchedAreTakenByTheFirstLook() async throws {
        let scratch = Scratch()
        let other = scratch.root + "/other"
        mkdir(other, 0o755)
        // Done file mode: data and done file both there.
        scratch.write(scratch.source + "/shikaku_20261130.csv", "old\n")
        scratch.write(scratch.source + "/shikaku_20261130.done", "")
        // Stable mode: last changed an hour ago, so already quiet long enough at first sight.
        scratch.write(other + "/shikaku_20261129.csv", "older\n")
        var times = [timeval(tv_sec: time(nil) - 3600, tv_usec: 0), timeval(tv_sec: time(nil) - 3600, tv_usec: 0)]
        #expect(utimes(other + "/shikaku_20261129.csv", &times) == 0)
        // Not complete: a data file with no done file.
        scratch.write(scratch.source + "/shikaku_20261128.csv", "incomplete\n")

        let (watcher, seen) = watching([watch(scratch.source), watch(other, done: nil, stableFor: 60, job: JobName("other")!)])
        defer { watcher.stop() }
        let arrivals = await seen.waitFor(2)
        #expect(Set(arrivals.map(\.path)) == [scratch.source + "/shikaku_20261130.csv", other + "/shikaku_20261129.csv"])
        // The first rescan is a minute away: these came from the look at start.
        #expect(seen.timed.allSatisfy { $0.at - seen.started < 10 }, "taken at start, not after a rescan")
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.all.count == 2)
    }

    @Test func aThousandFilesInOneBurstAreEachHandedOverExactlyOnce() async throws {
        let scratch = Scratch()
        let (watcher, seen) = watching([watch(scratch.source, done: nil, stableFor: 1, file: "burst_*.csv")])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        let started = Now.monotonic
        for number in 0..<1_000 {
            scratch.write(scratch.source + "/burst_\(number).csv", "record \(number)\n")
        }
        let arrivals = await seen.waitFor(1_000, within: 60)
        let took = Now.monotonic - started
        #expect(arrivals.count == 1_000)
        #expect(Set(arrivals.map(\.path)).count == 1_000)
        #expect(Set(arrivals.map(\.sha256)).count == 1_000)
        // Another full look, and time for stray events: still exactly one each.
        watcher.rescan()
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(seen.all.count == 1_000)
        print("1,000 files (stable_for 1s): all handed over \(String(format: "%.2f", took)) s after the first was written")
    }

    @Test func aThousandFilesCompletedByOneDoneFileAreEachHandedOverOnce() async throws {
        let scratch = Scratch()
        let (watcher, seen) = watching([watch(scratch.source, done: "READY", file: "burst_*.csv")])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        for number in 0..<1_000 {
            scratch.write(scratch.source + "/burst_\(number).csv", "record \(number)\n")
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.all.isEmpty)
        let ready = Now.monotonic
        scratch.write(scratch.source + "/READY", "")
        let arrivals = await seen.waitFor(1_000, within: 60)
        #expect(Set(arrivals.map(\.path)).count == 1_000)
        watcher.rescan()
        try await Task.sleep(for: .milliseconds(500))
        #expect(seen.all.count == 1_000)
        print("1,000 files completed by one done file: all handed over in \(String(format: "%.0f", (seen.timed.last!.at - ready) * 1000)) ms")
    }

    @Test func aLargeFileIsHashedAsideAndHandedOverWithItsDigest() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/shikaku_20261211.csv"
        var options = TriggerWatcher.Options()
        options.hashAsideFrom = 1 << 20
        let (watcher, seen) = watching([watch(scratch.source)], options: options)
        defer { watcher.stop() }
        scratch.write(path, randomData(6 << 20))
        scratch.write(scratch.source + "/shikaku_20261211.done", "")
        let arrival = try #require(await seen.waitFor(1).first)
        #expect(arrival.path == path)
        #expect(arrival.bytes == 6 << 20)
        #expect(arrival.sha256 == sha256sum(path))
    }

    @Test func aFileStillOpenForWritingIsNotHandedOverUntilItsWriterClosesIt() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/shikaku_20261203.csv"
        let (watcher, seen) = watching([watch(scratch.source, done: nil, stableFor: 1)])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        // Writes a line, keeps the file open (quiet, but open) for 2.5 s, writes the rest, closes.
        // Judged by what was handed over, not by timing (a loaded machine stretches every sleep):
        // a file taken while open would hold only "partial", and a second arrival would follow.
        let writer = try Child("exec 3>'\(path)'; echo partial >&3; sleep 2.5; echo rest >&3")
        _ = await writer.finished()
        let arrival = try #require(await seen.waitFor(1).first)
        #expect(arrival.sha256 == sha256sum(path))
        #expect(arrival.bytes == Int64("partial\nrest\n".utf8.count), "taken while still open for writing")
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(seen.all.count == 1)
    }

    @Test func aDoneFileWithoutItsDataFileHandsNothingOver() async throws {
        let scratch = Scratch()
        let (watcher, seen) = watching([watch(scratch.source)])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        scratch.write(scratch.source + "/shikaku_20261204.done", "")
        // Another day's data file: its done file is not this one.
        scratch.write(scratch.source + "/shikaku_20261205.csv", "5\n")
        watcher.rescan()
        try await Task.sleep(for: .milliseconds(500))
        #expect(seen.all.isEmpty)
        // The data file it was for comes later: complete at once.
        scratch.write(scratch.source + "/shikaku_20261204.csv", "4\n")
        let arrival = try #require(await seen.waitFor(1).first)
        #expect(arrival.path == scratch.source + "/shikaku_20261204.csv")
        try await Task.sleep(for: .milliseconds(200))
        #expect(seen.all.count == 1)
    }

    @Test func aFileChangedAfterItWasHandedOverIsHandedOverAgainAsNewContent() async throws {
        let scratch = Scratch()
        let path = scratch.source + "/shikaku_20261206.csv"
        scratch.write(scratch.source + "/shikaku_20261206.done", "")
        let (watcher, seen) = watching([watch(scratch.source)])
        defer { watcher.stop() }
        scratch.write(path, "first\n")
        let first = try #require(await seen.waitFor(1).first)
        // Replaced in place (truncated and written again), as a sender that resends does.
        scratch.write(path, "second, corrected\n")
        let arrivals = await seen.waitFor(2)
        #expect(arrivals.count == 2)
        #expect(first.sha256 != arrivals.last?.sha256)
        #expect(arrivals.last?.sha256 == sha256sum(path))
        watcher.rescan()
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.all.count == 2)
    }

    @Test func aFileWhoseEventWasLostIsFoundByTheNextRescan() async throws {
        let scratch = Scratch()
        var options = TriggerWatcher.Options()
        options.events = false
        options.rescanInterval = 0.3
        let (watcher, seen) = watching([watch(scratch.source)], options: options)
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        scratch.write(scratch.source + "/shikaku_20261207.csv", "7\n")
        scratch.write(scratch.source + "/shikaku_20261207.done", "")
        let arrival = try #require(await seen.waitFor(1).first)
        #expect(arrival.path == scratch.source + "/shikaku_20261207.csv")
        try await Task.sleep(for: .milliseconds(700))
        #expect(seen.all.count == 1)
    }

    @Test func aDirectoryCreatedAfterTheStartIsWatchedOnceItIsThere() async throws {
        let scratch = Scratch()
        let later = scratch.root + "/later"
        var options = TriggerWatcher.Options()
        options.missingRetry = 0.2
        let (watcher, seen) = watching([watch(later)], options: options)
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(300))
        mkdir(later, 0o755)
        scratch.write(later + "/shikaku_20261208.csv", "8\n")
        scratch.write(later + "/shikaku_20261208.done", "")
        let arrival = try #require(await seen.waitFor(1).first)
        #expect(arrival.path == later + "/shikaku_20261208.csv")
    }

    @Test func replacingTheWatchedSetKeepsWhatWasHandedOverAndStartsNewJobs() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/shikaku_20261209.csv", "9\n")
        scratch.write(scratch.source + "/shikaku_20261209.done", "")
        let first = watch(scratch.source)
        let (watcher, seen) = watching([first])
        defer { watcher.stop() }
        _ = await seen.waitFor(1)
        // The same set again (a reload that changed nothing): nothing handed over again.
        watcher.replace([first])
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.all.count == 1)
        // A second job on the same directory takes the file that is already there.
        let second = watch(scratch.source, job: JobName("kokuho-copy")!)
        watcher.replace([first, second])
        let arrivals = await seen.waitFor(2)
        #expect(arrivals.map(\.job.rawValue).sorted() == ["kokuho-copy", "kokuho-shikaku"])
        // Watching nothing, then a new file: not handed over.
        watcher.replace([])
        try await Task.sleep(for: .milliseconds(100))
        scratch.write(scratch.source + "/shikaku_20261210.csv", "10\n")
        scratch.write(scratch.source + "/shikaku_20261210.done", "")
        try await Task.sleep(for: .milliseconds(300))
        #expect(seen.all.count == 2)
    }

    @Test func theArrivalsStreamYieldsEachFileAndEndsAfterStop() async throws {
        let scratch = Scratch()
        scratch.write(scratch.source + "/shikaku_20261212.csv", "12\n")
        scratch.write(scratch.source + "/shikaku_20261212.done", "")
        let watcher = TriggerWatcher([watch(scratch.source)])
        var paths: [String] = []
        for await arrival in watcher.arrivals {
            paths.append(arrival.path)
            watcher.stop()
        }
        #expect(paths == [scratch.source + "/shikaku_20261212.csv"])
    }

    /// Prints (does not assert) how long after a done file's creation the arrival is handed over
    /// (to the callback, on the watcher's thread).
    @Test func latencyFromDoneFileToArrival() async throws {
        let scratch = Scratch()
        let (watcher, seen) = watching([watch(scratch.source)])
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(100))
        var latencies: [Double] = []
        for day in 1...30 {
            let name = "shikaku_202601\(day < 10 ? "0" : "")\(day)"
            scratch.write(scratch.source + "/\(name).csv", String(repeating: "\(day),record\n", count: 1_000))
            try await Task.sleep(for: .milliseconds(30))
            let created = Now.monotonic
            let done = open(scratch.source + "/\(name).done", O_WRONLY | O_CREAT | O_EXCL, 0o644)
            close(done)
            _ = await seen.waitFor(day)
            latencies.append((seen.timed[day - 1].at - created) * 1000)
        }
        latencies.sort()
        print("done file created → arrival handed over: p50 \(String(format: "%.2f", latencies[latencies.count / 2])) ms, "
              + "p90 \(String(format: "%.2f", latencies[latencies.count * 9 / 10])) ms, max \(String(format: "%.2f", latencies.last!)) ms (30 files)")
        #expect(seen.all.count == 30)
    }
}

/// A watcher whose arrivals are noted as they come, on the watcher's own thread: when one came
/// does not depend on when a task of the (busy) test process gets to run.
func watching(_ watches: [TriggerWatch], options: TriggerWatcher.Options = .init()) -> (TriggerWatcher, Arrivals) {
    let seen = Arrivals()
    return (TriggerWatcher(watches, options: options, onArrival: seen.note), seen)
}

/// The arrivals a watcher handed over, and when each came (monotonic seconds).
final class Arrivals: Sendable {
    let started = Now.monotonic
    private let seen = Mutex<[(arrival: TriggerArrival, at: Double)]>([])

    @Sendable func note(_ arrival: TriggerArrival) {
        let at = Now.monotonic
        seen.withLock { $0.append((arrival, at)) }
    }

    var timed: [(arrival: TriggerArrival, at: Double)] { seen.withLock { $0 } }
    var all: [TriggerArrival] { timed.map(\.arrival) }

    /// The arrivals so far once there are `count`, or after `within` seconds.
    func waitFor(_ count: Int, within seconds: Double = 20) async -> [TriggerArrival] {
        let limit = Now.monotonic + seconds
        while all.count < count && Now.monotonic < limit {
            try? await Task.sleep(for: .milliseconds(2))
        }
        return all
    }
}
