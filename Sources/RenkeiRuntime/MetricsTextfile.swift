import Foundation
import RenkeiCore

/// The `.prom` file node_exporter reads. Replaced whole, never written in place: the text goes to
/// a temporary file beside it (same directory, so same file system), is flushed to disk, and is
/// renamed over the old one; a reader sees the old file or the new one, never half of one.
/// Mode 0644: node_exporter runs as its own user, and the file holds counts, never residents' data.
public struct MetricsTextfile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String {
            "cannot write the metrics file \(path): \(reason) (renkei.yaml metrics.textfile; renkeid's user needs write access to its directory — systemctl edit renkeid: ReadWritePaths=)"
        }
    }

    public func write(_ text: String) throws(WriteError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        // node_exporter reads only *.prom: the temporary name must not end so.
        let temporary = directory + "/.\(name).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { pointer in Foundation.write(descriptor, pointer.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            written += result
        }
        if failure == nil {
            _ = fchmod(descriptor, 0o644)  // whatever the umask took
            if fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: failure)
        }
    }
}
