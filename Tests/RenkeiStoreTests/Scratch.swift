import Foundation
import Testing

/// Where the store tests put their databases: a scratch directory, a small tmpfs, a loop-mounted
/// ext4. Each is removed (unmounted) when the body returns or throws.
enum Scratch {
    static let isRoot = getuid() == 0
    static let mkfsExt4 = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"].first(where: FileManager.default.isExecutableFile(atPath:))
    static let mountCommand = ["/usr/bin/mount", "/bin/mount"].first(where: FileManager.default.isExecutableFile(atPath:))
    static let canMountExt4 = isRoot && FileManager.default.fileExists(atPath: "/dev/loop-control") && mkfsExt4 != nil && mountCommand != nil

    /// A fresh directory under the temporary directory.
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-store-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let path = try directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    /// A tmpfs of `size` (`1m`) mounted on a fresh directory. Needs root.
    static func withTmpfs<T>(size: String, _ body: (String) async throws -> T) async throws -> T {
        let path = try directory()
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(size),mode=0755") == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw Failed("mount -t tmpfs -o size=\(size) tmpfs \(path): \(String(cString: strerror(errno)))")
        }
        defer { unmount(path) }
        return try await body(path)
    }

    /// An ext4 file system of `megabytes` in a loop-mounted image, mounted `errors=remount-ro` as
    /// a server's would be; the body gets its directory and its name in /sys/fs/ext4 (`loop3`).
    static func withExt4<T>(megabytes: Int, _ body: (String, String) async throws -> T) async throws -> T {
        let path = try directory()
        let image = path + ".img"
        defer { try? FileManager.default.removeItem(atPath: image) }
        do {
            guard FileManager.default.createFile(atPath: image, contents: nil), truncate(image, off_t(megabytes) << 20) == 0 else {
                throw Failed("cannot create \(image)")
            }
            try run(mkfsExt4!, "-q", "-F", image)
            // A loop mount is detached when unmounted.
            try run(mountCommand!, "-o", "loop,errors=remount-ro", image, path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        defer { unmount(path) }
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        guard let line = mounts.split(separator: "\n").first(where: { $0.split(separator: " ").dropFirst().first.map(String.init) == path }),
              let device = line.split(separator: " ").first?.split(separator: "/").last
        else { throw Failed("\(path) is not in /proc/self/mounts") }
        return try await body(path, String(device))
    }

    /// Unmounts `path` (lazily if something still holds it, so a failed test never leaves a mount
    /// behind) and removes the directory.
    static func unmount(_ path: String) {
        if umount2(path, 0) != 0 { _ = umount2(path, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Fills the file system holding `directory` with `name` until a write finds no space.
    static func fill(_ directory: String, name: String = "filler") throws -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failed("cannot create \(path)") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 4096)
        // A short write means the last few bytes fit; the next one finds no space.
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) >= 0 {}
        guard errno == ENOSPC else { throw Failed("writing \(path): \(String(cString: strerror(errno)))") }
        return path
    }

    static func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed("\(arguments.joined(separator: " ")): exit status \(process.terminationStatus)") }
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
