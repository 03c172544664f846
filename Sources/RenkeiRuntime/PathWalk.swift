import Foundation
import RenkeiCore

/// Walks a path as the kernel would, from `/` down, following every symlink (and the path of its
/// target, up to `/` again), and describes each directory and file it crosses: what
/// `PathSafety` needs to say whether anyone else could have changed what is found there.
/// Like sshd's `secure_path`, but symlinks lead to more paths to check, not around them.
public struct PathWalk: Sendable {
    /// Each component met, `/` first, each path once.
    public var components: [PathComponent] = []
    /// Why the walk stopped before the end: a component missing or not reachable, or a loop.
    public var stoppedBecause: String?

    /// More symlinks than this on one path is a loop (Linux gives up at 40 too: ELOOP).
    public static let linkLimit = 40

    public init(_ path: String) {
        let current = FileManager.default.currentDirectoryPath
        var links = 0
        if let end = walk(path, from: current, through: nil, links: &links),
           let index = components.firstIndex(where: { $0.path == end }) {
            components[index].isSubject = true
        }
    }

    /// Resolves `path` (relative to the directory `base`), recording each component; returns the
    /// physical path it leads to, or nil when the walk cannot go on.
    private mutating func walk(_ path: String, from base: String, through link: String?, links: inout Int) -> String? {
        let absolute = path.hasPrefix("/") ? path : base + "/" + path
        var current = "/"
        guard record(current, through: link) else { return nil }
        for part in absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init) {
            if part == "." { continue }
            if part == ".." {
                current = (current as NSString).deletingLastPathComponent
                if current.isEmpty { current = "/" }
                continue
            }
            let next = current == "/" ? "/" + part : current + "/" + part
            var status = stat()
            guard lstat(next, &status) == 0 else {
                stoppedBecause = "\(next): \(String(cString: strerror(errno)))"
                return nil
            }
            if status.st_mode & S_IFMT == S_IFLNK {
                links += 1
                guard links <= Self.linkLimit else {
                    stoppedBecause = "\(next): more than \(Self.linkLimit) symlinks (a loop?)"
                    return nil
                }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlink(next, &buffer, buffer.count - 1)
                guard count >= 0 else {
                    stoppedBecause = "\(next): \(String(cString: strerror(errno)))"
                    return nil
                }
                let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard let resolved = walk(target, from: current, through: next, links: &links) else { return nil }
                current = resolved
            } else {
                guard record(next, status, through: link) else { return nil }
                current = next
            }
        }
        return current
    }

    /// Adds `path` once (the first way it was reached names it in messages).
    private mutating func record(_ path: String, _ known: stat? = nil, through link: String?) -> Bool {
        if components.contains(where: { $0.path == path }) { return true }
        var status = stat()
        if let known {
            status = known
        } else if lstat(path, &status) != 0 {
            stoppedBecause = "\(path): \(String(cString: strerror(errno)))"
            return false
        }
        components.append(PathComponent(
            path: path, mode: UInt32(status.st_mode), owner: UInt32(status.st_uid), group: UInt32(status.st_gid), throughLink: link))
        return true
    }

    /// The first hazard under `rules`, its owner and group named (looked up only then: a
    /// thousand job files cross thousands of components).
    public func firstHazard(_ rules: PathRules, trustedOwnerName: String = "root") -> PathHazard? {
        guard var hazard = PathSafety.firstHazard(components, rules: rules, trustedOwnerName: trustedOwnerName) else { return nil }
        hazard.component.ownerName = FileTrust.userName(uid_t(hazard.component.owner))
        hazard.component.groupName = Self.groupName(gid_t(hazard.component.group))
        return hazard
    }

    static func groupName(_ gid: gid_t) -> String? {
        guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return nil }
        return String(cString: name)
    }
}
