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
        /// The socket's permissions keep this user out.
        case permissionDenied(String)
        case broken(String)

        public var description: String {
            switch self {
            case .notRunning(let path, let reason):
                return "renkeid is not reachable at \(path) (\(reason)): start it with 'systemctl start renkeid', or, while it is stopped for maintenance, add --local to run here"
            case .permissionDenied(let path):
                return "permission denied on \(path): only root, the renkei user and members of the operators' group (renkei) may use renkeid; ask an administrator to add you (usermod -aG renkei $USER)"
            case .broken(let reason):
                return "renkeid's answer could not be read: \(reason)"
            }
        }
    }

    /// Sends `request` and returns the daemon's answer.
    public func send(_ request: ControlRequest, timeout: TimeInterval = 30) throws(Failure) -> ControlResponse {
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
            if code == EACCES || code == EPERM { throw .permissionDenied(socketPath) }
            throw .notRunning(socketPath, String(cString: strerror(code)))
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        let data: Data
        do { data = try ControlProtocol.encode(request) } catch { throw .broken("\(error)") }
        let sent = data.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // A daemon that refuses this caller answers at connect and closes without reading: its
        // answer may be waiting even when the request could not be sent.
        let unsent = sent == data.count ? nil : "cannot send the request: \(String(cString: strerror(errno)))"
        var answer = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !answer.contains(0x0A) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        guard let end = answer.firstIndex(of: 0x0A) else { throw .broken(unsent ?? "renkeid closed the connection without an answer") }
        do {
            return try ControlProtocol.decode(ControlResponse.self, from: answer[..<end])
        } catch {
            throw .broken("\(error)")
        }
    }
}
