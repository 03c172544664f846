import ArgumentParser
import Foundation

/// Starts renkeid as systemd would for `Type=notify` and measures the time to `READY=1`.
struct StartDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start-daemon",
                                                    abstract: "Start renkeid with a NOTIFY_SOCKET; print its pid and the seconds to READY=1.")

    @Option(help: "Where renkeid's output goes.") var log: String
    @Argument(parsing: .captureForPassthrough, help: "renkeid and its arguments.") var command: [String]

    func run() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-bench-notify-\(getpid())").path
        unlink(path)
        let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw Spawn.Failure(description: "cannot bind \(path): \(String(cString: strerror(errno)))") }
        // After READY=1 the socket goes away: renkeid's later notifications are dropped, never blocked.
        defer { close(listener); unlink(path) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = path
        let started = Clock.monotonicSeconds()
        let pid = try Spawn.start(Array(command.drop { $0 == "--" }), environment: environment, output: log)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(listener, &buffer, buffer.count, 0)
            guard count > 0 else { throw Spawn.Failure(description: "renkeid (pid \(pid)) did not send READY=1 within 60 s; see \(log)") }
            if String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n").contains("READY=1") { break }
        }
        printFigures(["pid": Double(pid), "ready_seconds": Clock.monotonicSeconds() - started])
    }
}
