import Foundation

/// Who opened a connection, as the kernel recorded it when they connected: `SO_PEERCRED` (pid,
/// effective uid and gid) and `SO_PEERGROUPS` (supplementary groups). Reading these is two
/// system calls and no name lookup, so the socket's loop can do it before reading a byte.
struct PeerCredentials: Sendable, Equatable {
    let uid: uid_t
    let gid: gid_t
    let pid: pid_t
    /// The process's supplementary groups: the same groups the socket file's mode was checked against.
    let groups: [gid_t]

    init(uid: uid_t, gid: gid_t, pid: pid_t, groups: [gid_t]) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.groups = groups
    }

    /// The peer of a connected Unix socket; nil if the kernel will not say.
    init?(socket: Int32) {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Swift's Glibc does not export it).
        var credentials = [Int32](repeating: 0, count: 3)
        var length = socklen_t(MemoryLayout<Int32>.size * 3)
        guard getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        pid = credentials[0]
        uid = uid_t(bitPattern: credentials[1])
        gid = gid_t(bitPattern: credentials[2])
        groups = Self.supplementaryGroups(of: socket)
    }

    /// `SO_PEERGROUPS` (Linux 4.13); empty where the kernel does not know it.
    private static func supplementaryGroups(of socket: Int32) -> [gid_t] {
        let peerGroups: Int32 = 59  // SO_PEERGROUPS, not exported by Swift's Glibc
        var groups = [gid_t](repeating: 0, count: 64)
        for _ in 0..<2 {
            var length = socklen_t(groups.count * MemoryLayout<gid_t>.size)
            if getsockopt(socket, SOL_SOCKET, peerGroups, &groups, &length) == 0 {
                return Array(groups.prefix(Int(length) / MemoryLayout<gid_t>.size))
            }
            guard errno == ERANGE else { return [] }
            // The kernel said how much room it needs.
            groups = [gid_t](repeating: 0, count: Int(length) / MemoryLayout<gid_t>.size + 1)
        }
        return []
    }
}

/// A caller with a name, for answers, audit rows and the journal.
struct Caller: Sendable {
    let uid: uid_t
    let gid: gid_t
    let pid: pid_t
    /// Looked up once per call, with the reentrant `getpwuid_r`: calls are served on several
    /// threads at once, and `getpwuid`'s static buffer would be shared between them.
    let userName: String

    init(_ peer: PeerCredentials) {
        uid = peer.uid
        gid = peer.gid
        pid = peer.pid
        userName = UserDatabase.userName(of: peer.uid) ?? "uid \(peer.uid)"
    }
}

/// How far the socket trusts a caller, decided from the kernel's credentials alone.
enum Standing: Sendable, Equatable {
    /// No per-uid cap, and the reserved connections.
    case root
    /// The user renkeid runs as, or a member of the operators' group: served, within the per-uid
    /// cap, and may take the reserved connections.
    case `operator`
    /// Anyone else: answered "permission denied" before anything is read.
    case outsider
}

/// Who may use the socket: root, the user renkeid runs as, and members of the operators' group.
struct Authorization: Sendable {
    /// The group's name, as operators and administrators know it (for messages).
    let operatorsGroup: String
    /// Its id, looked up once at start; nil when there is no such group (then only root and
    /// renkeid's own user get in).
    let groupID: gid_t?
    /// The user renkeid runs as.
    let daemonUID: uid_t
    /// Its name, looked up once at start (for messages).
    let daemonUser: String

    init(operatorsGroup: String) {
        self.operatorsGroup = operatorsGroup
        groupID = UserDatabase.groupID(named: operatorsGroup)
        daemonUID = geteuid()
        daemonUser = UserDatabase.userName(of: daemonUID) ?? "uid \(daemonUID)"
    }

    /// Membership is the calling process's groups as the kernel reports them — the groups that
    /// opened the socket file — not /etc/group: someone just added to the group logs in again.
    func standing(of peer: PeerCredentials) -> Standing {
        if peer.uid == 0 { return .root }
        if peer.uid == daemonUID { return .operator }
        if let groupID, peer.gid == groupID || peer.groups.contains(groupID) { return .operator }
        return .outsider
    }
}

/// Name lookups with the reentrant `_r` calls, safe on any thread. Each may read /etc/passwd or
/// ask systemd-userdb (or LDAP): call them off the socket's loop.
enum UserDatabase {
    static func userName(of uid: uid_t) -> String? {
        lookUp(sizeHint: _SC_GETPW_R_SIZE_MAX) { buffer in
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            let status = getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &found)
            // `entry` points into `buffer`: read the name before the buffer goes.
            return (status, found == nil ? nil : entry.pw_name.map { String(cString: $0) })
        }
    }

    static func groupID(named name: String) -> gid_t? {
        lookUp(sizeHint: _SC_GETGR_R_SIZE_MAX) { buffer in
            var entry = group()
            var found: UnsafeMutablePointer<group>?
            let status = getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &found)
            return (status, found == nil ? nil : entry.gr_gid)
        }
    }

    /// Calls `body` with a scratch buffer, twice as large each time it answers ERANGE.
    private static func lookUp<Value>(sizeHint: Int, _ body: (UnsafeMutableBufferPointer<CChar>) -> (Int32, Value?)) -> Value? {
        var size = max(sysconf(Int32(sizeHint)), 1024)
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            let (result, answer) = buffer.withUnsafeMutableBufferPointer { body($0) }
            if result == ERANGE {
                size *= 2
                continue
            }
            return result == 0 ? answer : nil
        }
        return nil
    }
}
