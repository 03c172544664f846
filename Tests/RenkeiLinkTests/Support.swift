import Foundation
import Glibc
import RenkeiCore
@testable import RenkeiLink

/// A scratch directory under /tmp with a source directory, a work directory and a target
/// directory, removed at the end.
final class Scratch {
    let root: String
    var source: String { root + "/outbox" }
    var work: String { root + "/work" }
    var target: String { root + "/inbox" }

    init() {
        root = "/tmp/renkei-link-test-\(UUID().uuidString.prefix(8))"
        for directory in [root, root + "/outbox", root + "/work", root + "/inbox"] {
            mkdir(directory, 0o755)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ path: String, _ text: String) { write(path, Data(text.utf8)) }

    func write(_ path: String, _ data: Data) {
        _ = FileManager.default.createFile(atPath: path, contents: data)
    }

    /// A file's names, hidden ones included.
    func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func receiveRequest(_ receive: LinkRequest.Receive, date: String = "2026-12-01", receipts: [LinkRequest.Receipt] = []) -> LinkRequest {
        LinkRequest(job: "juki-to-fukushi", runID: 900, step: "receive", logicalDate: date, workDirectory: work, receive: receive,
                    receipts: receipts, resultPath: work + "/result.json")
    }

    func deliverRequest(_ deliver: LinkRequest.Deliver, date: String = "2026-12-01", receipts: [LinkRequest.Receipt] = [], force: Bool = false) -> LinkRequest {
        LinkRequest(job: "juki-to-fukushi", runID: 901, step: "deliver", logicalDate: date, workDirectory: work, deliver: deliver,
                    receipts: receipts, force: force, resultPath: work + "/result.json")
    }
}

func contents(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// SHA-256 by `sha256sum`: an oracle independent of the code under test.
func sha256sum(_ path: String) -> String? {
    guard let finished = try? execute("/usr/bin/sha256sum", [path]), finished.status == 0 else { return nil }
    return finished.stdout.split(separator: " ").first.map(String.init)
}

func status(_ path: String) -> stat? {
    var raw = stat()
    return lstat(path, &raw) == 0 ? raw : nil
}

/// What a step answered and said.
struct Performed: Sendable {
    let result: LinkResult
    let said: [String]
    /// Seconds it took.
    let took: Double

    var failure: LinkResult.Failure? { result.failure }
    var file: LinkFile? { result.files.first }
}

/// Performs a step on a thread of its own: it blocks while it waits for files, and the test's
/// own tasks (and other tests) must go on meanwhile.
func perform(_ request: LinkRequest) async -> Performed {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            var said: [String] = []
            let started = Now.monotonic
            let result = LinkStepProcess.perform(request) { said.append($0) }
            continuation.resume(returning: Performed(result: result, said: said, took: Now.monotonic - started))
        }
        thread.start()
    }
}

/// A child process, which Foundation starts in a process group of its own: killing the group
/// kills what it started too. Killed (if still running) when dropped.
final class Child {
    let process = Process()

    convenience init(_ script: String) throws {
        try self.init("/bin/sh", ["-c", script])
    }

    init(_ program: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Signals the whole group.
    func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { Glibc.kill(-process.processIdentifier, signal) }
    }

    /// Waits for the end without blocking a task thread for long.
    func finished() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    deinit {
        kill()
        process.waitUntilExit()
    }
}

struct Finished {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program to its end and returns its exit status and output.
func execute(_ program: String, _ arguments: [String]) throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Finished(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

/// `count` random bytes (from the kernel: a loop in a debug build is slow for 50 MB).
func randomData(_ count: Int) -> Data {
    FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: count) ?? Data(count: count)
}

/// The built `renkeictl` (`swift build` before `swift test`).
let renkeictl: String = {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repository.appendingPathComponent(".build/debug/renkeictl").path
}()
