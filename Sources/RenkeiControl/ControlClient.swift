import Foundation

/// `renkeictl`'s end of the control socket.
public struct ControlClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    public enum Failure: Error, CustomStringConvertible {
        /// Nobody listens: renkeid is not running (or uses another socket).
        case notRunning(String, String)
        /// The socket's permissions keep this user out: the socket, and the operators' group
        /// as the socket file names it (nil when its group cannot be read).
        case permissionDenied(String, group: String?)
        /// Connected and sent, but no answer came within the timeout (seconds).
        case noAnswer(String, seconds: Int)
        case broken(String)

        public var description: String {
            switch self {
            case .notRunning(let path, let reason):
                return "renkeid is not reachable at \(path) (\(reason)): start it with 'systemctl start renkeid', or, while it is stopped for maintenance, add --local to run here"
            case .permissionDenied(let path, let group):
                let user = ControlClient.userName
                guard let group else {
                    return "permission denied on \(path): only root, renkeid's user and members of its operators' group (renkeid --operators-group, renkei unless set) may use renkeid; ask an administrator to add you to that group, then log in again"
                }
                return "permission denied on \(path): only root, renkeid's user and members of the operators' group \(group) may use renkeid; ask an administrator to add you (usermod -aG \(group) \(user)), then log in again"
            case .noAnswer(let path, let seconds):
                return "renkeid did not answer within \(seconds) s on \(path): it may be stopped (SIGSTOP, a debugger) or overloaded. "
                    + "Look with 'systemctl status renkeid' and 'journalctl -u renkeid -n 50'; a stopped renkeid goes on with 'systemctl kill -s CONT renkeid'. "
                    + "The request was sent and may still be carried out: check with 'renkeictl status' before repeating it, or wait longer with --timeout SECONDS"
            case .broken(let reason):
                return "renkeid's answer could not be read: \(reason)"
            }
        }
    }

    /// How long `send` waits for an answer unless told otherwise.
    public static let defaultTimeout = 30

    /// Sends `request` and returns the daemon's answer, waiting at most `timeout` seconds for it.
    public func send(_ request: ControlRequest, timeout: Int = ControlClient.defaultTimeout) throws(Failure) -> ControlResponse {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .broken(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .broken("socket path too long: \(socketPath)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            let code = errno
            if code == EACCES || code == EPERM { throw .permissionDenied(socketPath, group: Self.group(of: socketPath)) }
            throw .notRunning(socketPath, String(cString: strerror(code)))
        }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        let data: Data
        do { data = try ControlProtocol.encode(request) } catch { throw .broken("\(error)") }
        let sent = data.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // A daemon that refuses this caller answers at connect and closes without reading: its
        // answer may be waiting even when the request could not be sent.
        let unsent = sent == data.count ? nil : "cannot send the request: \(String(cString: strerror(errno)))"
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var timedOut = false
        while !answer.contains(0x0A) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { timedOut = true }
            if count <= 0 { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        if timedOut && !answer.contains(0x0A) { throw .noAnswer(socketPath, seconds: timeout) }
        guard let end = answer.firstIndex(of: 0x0A) else { throw .broken(unsent ?? "renkeid closed the connection without an answer") }
        do {
            return try ControlProtocol.decode(ControlResponse.self, from: answer[..<end])
        } catch {
            throw .broken("\(error)")
        }
    }

    /// The group of the socket file: the operators' group renkeid gave it (`--operators-group`).
    /// `stat` needs only the directory to be searchable, which connecting needed too.
    static func group(of socketPath: String) -> String? {
        var status = stat()
        guard stat(socketPath, &status) == 0, let entry = getgrgid(status.st_gid) else { return nil }
        return String(cString: entry.pointee.gr_name)
    }

    /// This user's name, for the command an administrator runs.
    static var userName: String {
        getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "$USER"
    }
}
