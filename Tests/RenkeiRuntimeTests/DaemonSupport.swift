import Foundation
@testable import RenkeiStore

/// The built `renkeid`.
let renkeid: String = URL(fileURLWithPath: renkeictl).deletingLastPathComponent().appendingPathComponent("renkeid").path

/// A real `renkeid` process on a scratch directory; its log goes to a file the test can read.
final class DaemonProcess {
    let process = Process()
    let logPath: String

    init(_ scratch: Scratch, arguments: [String] = [], environment: [String: String] = [:], log: String = "renkeid.log") throws {
        logPath = scratch.root + "/" + log
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: renkeid)
        process.arguments = ["--jobs", scratch.jobs, "--state", scratch.state, "--log-target", "console"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env["WATCHDOG_USEC"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to exit, at most `seconds`; true if it did.
    @discardableResult
    func waitForExit(seconds: Double = 20) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(20_000) }
        return !process.isRunning
    }

    /// SIGTERM, then wait; SIGKILL if it will not stop.
    func stop() {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if !waitForExit(seconds: 15) {
            signal(SIGKILL)
            waitForExit()
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Polls `condition` every 50 ms for up to `seconds`.
func eventually(seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

/// All runs in the scratch store, oldest first.
func allRuns(_ scratch: Scratch) throws -> [RunRecord] {
    // The daemon may still be creating the database: no store or no tables yet is "no runs".
    guard FileManager.default.fileExists(atPath: scratch.state + "/renkei.db"),
          let runs = try? RunStore.openForReading(at: scratch.state + "/renkei.db").history(limit: 10_000)
    else { return [] }
    return runs.reversed()
}

/// Pids of live processes whose command line contains `marker`.
func livingProcesses(containing marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), pid != getpid(),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] != "Z",
              let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return nil }
        return String(decoding: data, as: UTF8.self).contains(marker) ? pid : nil
    }
}

/// A datagram socket standing in for systemd's notify socket.
final class FakeNotifySocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Messages received within `seconds`.
    func receive(for seconds: Double) -> [String] {
        var messages: [String] = []
        let end = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < end {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 { messages.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
        }
        return messages
    }

    deinit {
        close(descriptor)
        unlink(path)
    }
}
