import Crypto
import Glibc
import RenkeiCore

/// `check:` — reads the file once, in chunks, through `ContractCheck` and SHA-256 together, and
/// answers with the file (its record count recorded) and the problems found.
enum FileCheck {
    static let chunkSize = 4 << 20

    static func perform(_ check: LinkRequest.Check, say: (String) -> Void) -> LinkResult {
        let name = check.file.split(separator: "/").last.map(String.init) ?? check.file
        let descriptor = open(check.file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return LinkResult(failure: .init(errorClass: errno == ENOENT ? .data : .exit,
                                             message: "cannot read \(check.file) to check it: \(String(cString: strerror(errno)))"))
        }
        defer { close(descriptor) }
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
        var contract = ContractCheck(check)
        var hash = SHA256()
        var bytes: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                return LinkResult(failure: .init(errorClass: .exit, message: "cannot read \(check.file): \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hash.update(bufferPointer: chunk)
            contract.feed(chunk)
            bytes += Int64(count)
        }
        var controlCount: Result<Int64, ContractCheck.Problem>?
        if case .controlFile(let path)? = check.count { controlCount = firstNumber(in: path) }
        var controlTotal: Result<Int64, ContractCheck.Problem>?
        if case .controlFile(let path)? = check.sum?.declared { controlTotal = firstNumber(in: path) }
        let verdict = contract.finish(controlCount: controlCount, controlTotal: controlTotal)
        let sha256 = Hex.string(hash.finalize())
        var summary = "\(verdict.records) records"
        if let declared = verdict.declaredCount { summary += " (\(declared) declared)" }
        if let total = verdict.total { summary += ", column total \(total)" + (verdict.declaredTotal.map { " (\($0) declared)" } ?? "") }
        let file = LinkFile(direction: .checked, path: check.file, bytes: bytes, sha256: sha256, records: Int64(verdict.records),
                            outcome: verdict.problems == 0 ? .checked : .failedCheck,
                            note: verdict.problems == 0 ? summary : "\(verdict.problems) problem\(verdict.problems == 1 ? "" : "s"); \(summary)")
        guard verdict.problems > 0 else {
            say("checked \(check.file): \(bytes) bytes, \(summary), \(check.encoding.rawValue) \(check.format.rawValue): as agreed")
            return LinkResult(files: [file])
        }
        say("\(check.file) breaks its contract: \(verdict.problems) problem\(verdict.problems == 1 ? "" : "s") (\(summary)); the first \(verdict.listed.count):")
        for problem in verdict.listed { say("  \(problem)") }
        if verdict.problems > verdict.listed.count { say("  … and \(verdict.problems - verdict.listed.count) more") }
        // The message names the declared figures when they disagree, else the first problem.
        let headline = verdict.listed.first { $0.row == nil } ?? verdict.listed.first
        let first = headline.map { "; \(verdict.problems == 1 ? "" : $0.row == nil ? "above all: " : "first: ")\($0)" } ?? ""
        return LinkResult(files: [file],
                          failure: .init(errorClass: .data, message: "\(name) breaks its contract: \(verdict.problems) problem\(verdict.problems == 1 ? "" : "s")\(first)"),
                          findings: .init(count: verdict.problems, listed: verdict.listed.map(\.description)))
    }

    /// The first number in a control file (`IDO.ctl` holding `517` or `COUNT=517`).
    static func firstNumber(in path: String) -> Result<Int64, ContractCheck.Problem> {
        guard let handle = fopen(path, "r") else {
            return .failure(.init(expected: "the control file \(path)", found: String(cString: strerror(errno))))
        }
        defer { fclose(handle) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = fread(&bytes, 1, bytes.count, handle)
        let digits = bytes[0..<count].drop { !(0x30...0x39).contains($0) }.prefix { (0x30...0x39).contains($0) }
        guard !digits.isEmpty, let value = Int64(String(decoding: digits, as: UTF8.self)) else {
            return .failure(.init(expected: "a number in the control file \(path)", found: "none"))
        }
        return .success(value)
    }
}
