import Foundation
import Glibc
import RenkeiCore
import Synchronization
import Testing
@testable import RenkeiLink

/// Deliveries killed with SIGKILL at random moments, in real child processes (`renkeictl
/// link-step`), while a watcher looks at the target directory all along: whatever it ever finds
/// under the final name is one of the two files, whole.
@Suite(.serialized) struct KilledDeliveryTests {
    static let size = 50_000_000
    static let deliveries = 100

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: renkeictl), "build renkeictl first (swift build)"))
    func nothingPartialEverAppearsUnderTheFinalName() async throws {
        let scratch = Scratch()
        var requests: [String] = []
        var expected: Set<String> = []
        for (index, name) in ["a", "b"].enumerated() {
            let source = scratch.work + "/out-\(name).csv"
            scratch.write(source, randomData(Self.size))
            expected.insert(try #require(sha256sum(source)))
            let request = scratch.deliverRequest(.init(source: source, directory: scratch.target, name: "IDO.csv", ifExists: .replace))
            let path = scratch.work + "/request-\(index).json"
            try JSONEncoder().encode(request).write(to: URL(fileURLWithPath: path))
            requests.append(path)
        }

        let watcher = Watcher(directory: scratch.target, name: "IDO.csv", size: Int64(Self.size), expected: expected)
        watcher.start()

        // Three deliveries to their end tell how long one takes here; kills then fall anywhere in one.
        var durations: [Double] = []
        for request in requests + requests.prefix(1) {
            let started = Now.monotonic
            #expect(try execute(renkeictl, ["link-step", request]).status == 0)
            durations.append(Now.monotonic - started)
        }
        let duration = durations.sorted()[1]

        var killed = 0
        for iteration in 0..<Self.deliveries {
            let child = try Child(renkeictl, ["link-step", requests[iteration % 2]])
            try await Task.sleep(for: .seconds(Double.random(in: 0...duration)))
            child.kill(SIGKILL)
            _ = await child.finished()
            if child.process.terminationReason == .uncaughtSignal { killed += 1 }
        }
        // One more, to its end: it removes whatever the killed ones left.
        let last = try execute(renkeictl, ["link-step", requests[1]])
        watcher.stop()

        #expect(last.status == 0, "\(last.stderr)")
        #expect(killed > Self.deliveries / 4, "many deliveries were killed midway (\(killed) of \(Self.deliveries))")
        #expect(watcher.violations.isEmpty, "\(watcher.violations)")
        #expect(watcher.checked > 1, "the watcher saw files under the final name")
        #expect(scratch.names(in: scratch.target) == ["IDO.csv"], "no temporary file remains")
        #expect(sha256sum(scratch.target + "/IDO.csv").map(expected.contains) == true)
    }

    /// The watcher is the proof, so it must catch what it is there to catch: a file written in
    /// place under its final name, as a naive copy does.
    @Test func theWatcherCatchesAFileWrittenInPlace() async throws {
        let scratch = Scratch()
        let source = scratch.work + "/out.csv"
        scratch.write(source, randomData(Self.size))
        let watcher = Watcher(directory: scratch.target, name: "IDO.csv", size: Int64(Self.size), expected: [try #require(sha256sum(source))])
        watcher.start()
        for _ in 0..<20 where watcher.violations.isEmpty {
            let copy = try Child("/bin/dd", ["if=\(source)", "of=\(scratch.target)/IDO.csv", "bs=1M"])
            _ = await copy.finished()
            try FileManager.default.removeItem(atPath: scratch.target + "/IDO.csv")
        }
        watcher.stop()
        #expect(!watcher.violations.isEmpty)
    }
}

/// Looks at a directory on a thread of its own until stopped: every file found under `name` must
/// have `size` bytes and one of the `expected` hashes, and no other visible name may appear.
/// Each file is hashed once (a delivered file is never written after it got its name).
final class Watcher: Sendable {
    let directory: String
    let name: String
    let size: Int64
    let expected: Set<String>
    private let state = Mutex<(running: Bool, finished: Bool, checked: Int, violations: [String])>((true, false, 0, []))

    init(directory: String, name: String, size: Int64, expected: Set<String>) {
        self.directory = directory
        self.name = name
        self.size = size
        self.expected = expected
    }

    var checked: Int { state.withLock { $0.checked } }
    var violations: [String] { state.withLock { $0.violations } }

    func start() {
        Thread { self.watch() }.start()
    }

    func stop() {
        state.withLock { $0.running = false }
        while !state.withLock({ $0.finished }) { usleep(10_000) }
    }

    private func watch() {
        defer { state.withLock { $0.finished = true } }
        // Inode numbers are reused: the modification time tells a new file from the one checked.
        var seen: Set<String> = []
        let sink = try? OpenFile.open("/dev/null", O_WRONLY)
        while state.withLock({ $0.running }) {
            for entry in (try? FileSystem.names(in: directory)) ?? [] where !entry.hasPrefix(".") && entry != name {
                record("an unexpected name appeared: \(entry)")
            }
            guard let file = try? OpenFile.open(FileSystem.join(directory, name), O_RDONLY), let status = try? file.status() else { continue }
            let identity = "\(status.inode) \(status.modifiedSeconds).\(status.modifiedNanoseconds)"
            guard !seen.contains(identity) else { continue }
            seen.insert(identity)
            guard status.size == size else {
                record("\(name) had \(status.size) bytes, not \(size)")
                continue
            }
            guard let sink, let copied = try? DigestingCopy.copy(from: file, to: sink) else { continue }
            if copied.bytes != size || !expected.contains(copied.sha256) {
                record("\(name) had \(copied.bytes) bytes with sha256 \(copied.sha256)")
            }
            state.withLock { $0.checked += 1 }
        }
    }

    private func record(_ violation: String) {
        state.withLock { $0.violations.append(violation) }
    }
}
