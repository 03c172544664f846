import Foundation
import RenkeiControl

/// Who is on the other end of a connection, as the kernel says (`SO_PEERCRED`).
struct Caller: Sendable {
    let uid: uid_t
    let gid: gid_t
    let pid: pid_t
    /// Looked up once per connection: a lookup reads /etc/passwd and may ask systemd-userdb.
    let userName: String

    init(uid: uid_t, gid: gid_t, pid: pid_t) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        userName = getpwuid(uid).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(uid)"
    }
}

/// The control socket: accepts connections on a thread of its own, reads one request line per
/// connection (each on its own thread) with limits (size, idle time, number of connections), asks `handle` for the answer
/// and writes it back. Malformed input gets an error answer; nothing a client sends can stop it.
final class ControlServer: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let handle: @Sendable (ControlRequest, Caller, String) -> ControlResponse
    private let slots = DispatchSemaphore(value: ControlProtocol.maximumConnections)

    enum StartError: Error, CustomStringConvertible {
        case unsafeDirectory(String)
        case cannot(String, String)

        var description: String {
            switch self {
            case .unsafeDirectory(let directory):
                "refusing to listen in \(directory): it is writable by others, who could replace the socket (fix: chmod o-w \(directory))"
            case .cannot(let what, let reason):
                "cannot \(what): \(reason)"
            }
        }
    }

    /// Binds `path` (mode 0660, group `group` when given) and starts accepting.
    init(path: String, group: gid_t?, handle: @escaping @Sendable (ControlRequest, Caller, String) -> ControlResponse) throws {
        self.path = path
        self.handle = handle
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        var status = stat()
        guard stat(directory, &status) == 0 else { throw StartError.cannot("read \(directory)", String(cString: strerror(errno))) }
        if status.st_mode & S_IWOTH != 0 && status.st_mode & S_ISVTX == 0 { throw StartError.unsafeDirectory(directory) }

        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw StartError.cannot("create a socket", String(cString: strerror(errno))) }
        _ = fcntl(listener, F_SETFD, FD_CLOEXEC)
        unlink(path)  // a socket left by a daemon that died
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw StartError.cannot("listen on \(path)", "path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        // Created 0660 from the start: no moment where others could connect.
        let previousMask = umask(0o117)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previousMask)
        guard bound == 0 else { throw StartError.cannot("listen on \(path)", String(cString: strerror(errno))) }
        chmod(path, 0o660)
        if let group { _ = chown(path, geteuid(), group) }
        guard listen(listener, 128) == 0 else { throw StartError.cannot("listen on \(path)", String(cString: strerror(errno))) }
        let thread = Thread { [self] in self.acceptLoop() }
        thread.name = "renkei-control"
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // the listener was closed
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            guard slots.wait(timeout: .now()) == .success else {
                reply(connection, .error(3, "renkeid is busy (\(ControlProtocol.maximumConnections) connections open); try again"))
                close(connection)
                continue
            }
            // A thread per connection (at most `maximumConnections`): serving one blocks on the
            // client and on the daemon's answer, and GCD's global queues run only as many blocked
            // blocks at once as there are CPUs — requests would queue behind each other.
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
                slots.signal()
            }
            thread.name = "renkei-connection"
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Swift's Glibc does not export it).
        var credentials = [Int32](repeating: 0, count: 3)
        var length = socklen_t(MemoryLayout<Int32>.size * 3)
        guard getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return }
        let caller = Caller(uid: uid_t(bitPattern: credentials[1]), gid: gid_t(bitPattern: credentials[2]), pid: credentials[0])
        var idle = timeval(tv_sec: Int(ControlProtocol.idleTimeout), tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &idle, socklen_t(MemoryLayout<timeval>.size))

        var line = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !line.contains(0x0A) {
            let count = recv(connection, &buffer, buffer.count, 0)
            if count <= 0 { return }  // closed, or idle too long
            line.append(contentsOf: buffer[0..<count])
            if line.count > ControlProtocol.maximumRequestBytes {
                reply(connection, .error(2, "request too large (more than \(ControlProtocol.maximumRequestBytes) bytes)"))
                return
            }
        }
        let text = line[..<line.firstIndex(of: 0x0A)!]
        let request: ControlRequest
        do {
            request = try ControlProtocol.decode(ControlRequest.self, from: Data(text))
        } catch {
            reply(connection, .error(2, "malformed request: one JSON object per line, as renkeictl sends (\(error))"))
            return
        }
        guard request.version == ControlProtocol.version else {
            reply(connection, .error(2, "protocol version \(request.version) is not \(ControlProtocol.version): use the renkeictl that came with this renkeid"))
            return
        }
        reply(connection, handle(request, caller, String(decoding: text, as: UTF8.self)))
    }

    private func reply(_ connection: Int32, _ response: ControlResponse) {
        guard let data = try? ControlProtocol.encode(response) else { return }
        _ = data.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// Who may use the socket: root, the user renkeid runs as, and members of the operators' group.
struct Authorization: Sendable {
    let operatorsGroup: String
    let groupID: gid_t?

    init(operatorsGroup: String) {
        self.operatorsGroup = operatorsGroup
        groupID = getgrnam(operatorsGroup).map { $0.pointee.gr_gid }
    }

    func allows(_ caller: Caller) -> Bool {
        if caller.uid == 0 || caller.uid == geteuid() { return true }
        guard let groupID else { return false }
        if caller.gid == groupID { return true }
        if let entry = getpwuid(caller.uid), entry.pointee.pw_gid == groupID { return true }
        guard let group = getgrgid(groupID), var member = group.pointee.gr_mem else { return false }
        let name = caller.userName
        while let pointer = member.pointee {
            if String(cString: pointer) == name { return true }
            member = member.advanced(by: 1)
        }
        return false
    }
}
