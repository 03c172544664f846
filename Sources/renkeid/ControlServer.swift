import Foundation
import Logging
import RenkeiControl
import Synchronization

/// The control socket. One thread ("renkei-control") owns every connection from `accept` to
/// `close`, in one `poll` loop that never waits on a client or a disk: it checks who is calling
/// before reading a byte, reads the request line against a total deadline, and writes the
/// answer. Only answering leaves the thread: each admitted connection becomes one `ControlCall`
/// for `handle`, in a task of its own, and the answer comes back through the `Mailbox`.
///
/// Nothing a client does can stop the socket or lock operators out (`Limits`): a connection
/// beyond a limit is answered "busy" and closed at once; an outsider is answered "permission
/// denied" without a byte being read; a request that is not whole by its deadline is cut off.
final class ControlServer: Sendable {
    struct Limits: Sendable {
        /// Connections open at once, in all (each holds a file descriptor, and maybe a task).
        var connections = 64
        /// Of those, how many are kept for root and operators: an operator gets in while
        /// outsiders' connections (each refused, but held while its refusal is audited) fill the rest.
        var reservedForOperators = 8
        /// Connections open at once from one uid other than root: a stuck script or a slow
        /// client cannot take every connection.
        var perUser = 8
        /// From `accept` to the request's newline, however the bytes trickle in.
        var requestDeadline: Duration = .seconds(10)
        /// From the answer being ready to its last byte taken by the client.
        var answerDeadline: Duration = .seconds(10)
    }

    /// Answers one call; its answer is what the client reads. Called once per admitted
    /// connection, refusals included, in a task of its own: at most `Limits.connections` at once.
    /// The connection keeps its place until the answer comes.
    typealias Handler = @Sendable (ControlCall) async -> ControlResponse

    let path: String
    /// Carries answers from the handler's tasks to the loop, and the request to stop.
    private let mailbox: Mailbox

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

    /// Binds `path` (mode 0660, group: the operators' group when it exists) and starts serving.
    init(path: String, authorization: Authorization, limits: Limits = Limits(), handle: @escaping Handler) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        var status = stat()
        guard stat(directory, &status) == 0 else { throw StartError.cannot("read \(directory)", String(cString: strerror(errno))) }
        if status.st_mode & S_IWOTH != 0 && status.st_mode & S_ISVTX == 0 { throw StartError.unsafeDirectory(directory) }

        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw StartError.cannot("create a socket", String(cString: strerror(errno))) }
        _ = fcntl(listener, F_SETFD, FD_CLOEXEC)
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
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
        if let group = authorization.groupID { _ = chown(path, geteuid(), group) }
        guard listen(listener, 128) == 0 else { throw StartError.cannot("listen on \(path)", String(cString: strerror(errno))) }

        let mailbox = try Mailbox()
        self.mailbox = mailbox
        let thread = Thread {
            var loop = SocketLoop(listener: listener, authorization: authorization, limits: limits, mailbox: mailbox, handle: handle)
            loop.run()
        }
        thread.name = "renkei-control"
        thread.start()
    }

    /// Stops accepting and removes the socket file; connections still open are closed.
    func stop() {
        unlink(path)
        mailbox.stop()
    }
}

/// Where the handler's tasks leave answers for the loop, and what wakes the loop's `poll`: one
/// byte down a pipe per delivery.
private final class Mailbox: Sendable {
    private struct Contents {
        var answers: [(connection: UInt64, bytes: [UInt8])] = []
        var stopping = false
    }
    private let contents = Mutex(Contents())
    /// The loop polls this end.
    let wakeUps: Int32
    private let bell: Int32

    init() throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ControlServer.StartError.cannot("create a pipe", String(cString: strerror(errno))) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        (wakeUps, bell) = (ends[0], ends[1])
    }

    // Closed only when the loop and every task that could still deliver are gone.
    deinit {
        close(wakeUps)
        close(bell)
    }

    func deliver(_ bytes: [UInt8], to connection: UInt64) {
        contents.withLock { $0.answers.append((connection, bytes)) }
        ring()
    }

    func stop() {
        contents.withLock { $0.stopping = true }
        ring()
    }

    /// The answers waiting, and whether to stop; empties the pipe.
    func collect() -> (answers: [(connection: UInt64, bytes: [UInt8])], stopping: Bool) {
        var drain = [UInt8](repeating: 0, count: 256)
        while read(wakeUps, &drain, drain.count) > 0 {}
        return contents.withLock { contents in
            defer { contents.answers.removeAll() }
            return (contents.answers, contents.stopping)
        }
    }

    private func ring() {
        var byte: UInt8 = 1
        _ = write(bell, &byte, 1)  // a full pipe rings already
    }
}

/// One admitted connection.
private struct Connection {
    let socket: Int32
    let peer: PeerCredentials
    var phase: Phase
    /// The request so far; kept outside `phase` so that appending to it does not copy it.
    var received: [UInt8] = []

    enum Phase {
        /// Reading the request line, which must be whole by `deadline`.
        case reading(deadline: ContinuousClock.Instant)
        /// The call is with the handler; the socket is not watched meanwhile.
        case answering
        /// Writing the answer, which the client must take by `deadline`.
        case writing(answer: [UInt8], written: Int, deadline: ContinuousClock.Instant)
    }
}

/// Which connections are open, and who may open the next one (`Limits`).
private struct Occupancy {
    let limits: ControlServer.Limits
    private(set) var total = 0
    private var perUID: [uid_t: Int] = [:]

    init(limits: ControlServer.Limits) { self.limits = limits }

    /// Why a caller gets no connection now, or nil when it may have one.
    func noRoom(for peer: PeerCredentials, _ standing: Standing) -> String? {
        if total >= limits.connections {
            return "renkeid is busy: all \(limits.connections) control connections are in use; try again in a moment"
        }
        if standing != .root && perUID[peer.uid, default: 0] >= limits.perUser {
            return "renkeid is busy: uid \(peer.uid) already has \(limits.perUser) connections open (a stuck script?); try again once they are closed"
        }
        if standing == .outsider && total >= limits.connections - limits.reservedForOperators {
            return "renkeid is busy: the last \(limits.reservedForOperators) control connections are kept for root and operators; try again in a moment"
        }
        return nil
    }

    mutating func open(_ uid: uid_t) {
        total += 1
        perUID[uid, default: 0] += 1
    }

    mutating func close(_ uid: uid_t) {
        total -= 1
        perUID[uid, default: 1] -= 1
        if perUID[uid] == 0 { perUID[uid] = nil }
    }
}

/// The loop itself; lives on the socket's thread and nowhere else.
private struct SocketLoop {
    let listener: Int32
    let authorization: Authorization
    let limits: ControlServer.Limits
    let mailbox: Mailbox
    let handle: ControlServer.Handler
    let logger = Logger(label: "renkeid")

    var connections: [UInt64: Connection] = [:]
    var occupancy: Occupancy
    var nextID: UInt64 = 0
    /// Out of file descriptors: the listener is left alone until then, or `poll` would spin.
    var acceptPausedUntil: ContinuousClock.Instant?
    /// Connections turned away since the last warning, which goes out at most every 10 s.
    var turnedAway = (count: 0, lastReason: "", lastWarning: ContinuousClock.Instant?.none)
    var scratch = [UInt8](repeating: 0, count: 16 * 1024)

    init(listener: Int32, authorization: Authorization, limits: ControlServer.Limits, mailbox: Mailbox, handle: @escaping ControlServer.Handler) {
        self.listener = listener
        self.authorization = authorization
        self.limits = limits
        self.mailbox = mailbox
        self.handle = handle
        occupancy = Occupancy(limits: limits)
    }

    /// What each entry of the `poll` set stands for.
    enum Watched {
        case mailbox, listener
        case connection(UInt64)
    }

    mutating func run() {
        while true {
            let now = ContinuousClock.now
            if let until = acceptPausedUntil, until <= now { acceptPausedUntil = nil }
            var watched: [Watched] = [.mailbox]
            var descriptors = [pollfd(fd: mailbox.wakeUps, events: Int16(POLLIN), revents: 0)]
            if acceptPausedUntil == nil {
                watched.append(.listener)
                descriptors.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            }
            for (id, connection) in connections {
                let events: Int32
                switch connection.phase {
                case .reading: events = POLLIN
                case .writing: events = POLLOUT
                case .answering: continue  // nothing to do until the answer comes
                }
                watched.append(.connection(id))
                descriptors.append(pollfd(fd: connection.socket, events: Int16(events), revents: 0))
            }
            _ = poll(&descriptors, nfds_t(descriptors.count), timeout(from: now))

            let (answers, stopping) = mailbox.collect()
            if stopping { break }
            for (id, answer) in answers { startWriting(id, answer) }
            for (index, what) in watched.enumerated() where descriptors[index].revents != 0 {
                switch what {
                case .mailbox: continue  // collected above
                case .listener: acceptWaiting()
                case .connection(let id):
                    switch connections[id]?.phase {
                    case .reading: read(id)
                    case .writing: write(id)
                    case .answering, nil: continue
                    }
                }
            }
            enforceDeadlines()
        }
        for id in Array(connections.keys) { finish(id) }
        close(listener)
    }

    /// Milliseconds until the nearest deadline (or the end of an accept pause); -1 for none.
    func timeout(from now: ContinuousClock.Instant) -> Int32 {
        var nearest = acceptPausedUntil
        for connection in connections.values {
            switch connection.phase {
            case .reading(let deadline), .writing(_, _, let deadline): nearest = min(nearest ?? deadline, deadline)
            case .answering: continue
            }
        }
        guard let nearest else { return -1 }
        return Int32(max(0, ((nearest - now) / .milliseconds(1)).rounded(.up)))
    }

    // MARK: - Accepting

    /// Takes what is waiting, at most a connection table's worth at a time, so that a flood of
    /// connections cannot keep the loop from its open connections.
    mutating func acceptWaiting() {
        for _ in 0..<limits.connections {
            let socket = accept(listener, nil, nil)
            if socket < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    logger.error("control socket: cannot accept connections (\(String(cString: strerror(errno)))); trying again in 1 s")
                    acceptPausedUntil = .now + .seconds(1)
                    return
                default: return  // EAGAIN: none left
                }
            }
            _ = fcntl(socket, F_SETFD, FD_CLOEXEC)
            _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
            admit(socket)
        }
    }

    /// Who is calling decides, before a byte is read: a connection beyond a limit is told so
    /// and closed; an outsider's call is its refusal; anyone else's request is read.
    mutating func admit(_ socket: Int32) {
        guard let peer = PeerCredentials(socket: socket) else {
            close(socket)
            return
        }
        let standing = authorization.standing(of: peer)
        if let reason = occupancy.noRoom(for: peer, standing) {
            turnAway(socket, peer, reason)
            return
        }
        occupancy.open(peer.uid)
        let id = nextID
        nextID += 1
        connections[id] = Connection(socket: socket, peer: peer, phase: .reading(deadline: .now + limits.requestDeadline))
        if standing == .outsider {
            call(id, .refused(.notAllowed(operatorsGroup: authorization.operatorsGroup, daemonUser: authorization.daemonUser)), sent: ControlCall.notRead)
        }
    }

    /// "Busy": nothing read, nothing audited (a flood of connections must not become a flood of
    /// fsyncs), one warning in the journal every 10 s at most.
    mutating func turnAway(_ socket: Int32, _ peer: PeerCredentials, _ reason: String) {
        if let answer = try? ControlProtocol.encode(ControlResponse.error(3, reason)) {
            _ = answer.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        }
        close(socket)
        turnedAway.count += 1
        turnedAway.lastReason = "uid \(peer.uid), pid \(peer.pid): \(reason)"
        if let last = turnedAway.lastWarning, ContinuousClock.now - last < .seconds(10) { return }
        logger.warning("control socket: turned away \(turnedAway.count) connection(s) (the last: \(turnedAway.lastReason))")
        turnedAway = (0, "", .now)
    }

    // MARK: - Reading

    mutating func read(_ id: UInt64) {
        guard let socket = connections[id]?.socket else { return }
        let count = recv(socket, &scratch, scratch.count, 0)
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
        guard count > 0 else {
            // The client closed its end (or the connection broke) before a newline.
            let received = connections[id]!.received
            if received.isEmpty {
                finish(id)  // it asked nothing
            } else {
                call(id, .refused(.incomplete(bytes: received.count, .closed)), sent: AuditText.escaping(received))
            }
            return
        }
        connections[id]!.received.append(contentsOf: scratch[0..<count])
        let received = connections[id]!.received
        if let newline = received.firstIndex(of: 0x0A) {
            let line = Array(received[..<newline])
            call(id, ControlCall.content(ofLine: line), sent: AuditText.escaping(line))
        } else if received.count > ControlProtocol.maximumRequestBytes {
            call(id, .refused(.tooLarge), sent: AuditText.escaping(received))
        }
    }

    mutating func enforceDeadlines() {
        let now = ContinuousClock.now
        for (id, connection) in connections {
            switch connection.phase {
            case .reading(let deadline) where deadline <= now:
                call(id, .refused(.incomplete(bytes: connection.received.count, .deadline(limits.requestDeadline))),
                     sent: AuditText.escaping(connection.received))
            case .writing(_, _, let deadline) where deadline <= now:
                finish(id)  // the client does not take its answer
            default:
                continue
            }
        }
    }

    // MARK: - Answering

    /// Hands the connection's call to the handler; the socket is left alone until the answer comes.
    mutating func call(_ id: UInt64, _ content: ControlCall.Content, sent: String) {
        guard var connection = connections[id] else { return }
        connection.phase = .answering
        connection.received = []
        connections[id] = connection
        let call = ControlCall(peer: connection.peer, content: content, sent: sent)
        let (handle, mailbox) = (self.handle, self.mailbox)
        Task {
            let answer = await handle(call)
            let bytes = (try? ControlProtocol.encode(answer)) ?? Data("{\"exitStatus\":1,\"message\":\"renkeid could not encode its answer\"}\n".utf8)
            mailbox.deliver(Array(bytes), to: id)
        }
    }

    mutating func startWriting(_ id: UInt64, _ answer: [UInt8]) {
        guard connections[id] != nil else { return }
        connections[id]!.phase = .writing(answer: answer, written: 0, deadline: .now + limits.answerDeadline)
        write(id)
    }

    mutating func write(_ id: UInt64) {
        guard let connection = connections[id], case .writing(let answer, let written, let deadline) = connection.phase else { return }
        let count = answer[written...].withUnsafeBytes { send(connection.socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            finish(id)  // the client is gone
        } else if written + count == answer.count {
            finish(id)
        } else {
            connections[id]!.phase = .writing(answer: answer, written: written + count, deadline: deadline)
        }
    }

    mutating func finish(_ id: UInt64) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        close(connection.socket)
        occupancy.close(connection.peer.uid)
    }
}
