import Crypto
import Dispatch
import Glibc
import Synchronization
import RenkeiCore
import RenkeiEncoding

/// `convert:` — re-encodes a file, never lossy without saying so. Invalid input bytes always
/// fail with their offset; a character the target encoding cannot hold fails the step
/// (`unmappable: fail`) or is replaced from the job's substitution table, else by 〓 (U+3013),
/// each replacement counted and the first ones listed. The output is written beside its final
/// name and renamed into place: a failed conversion leaves nothing under that name (a crash may
/// leave a `.renkei-tmp` beside it, never a partial file under the name).
enum FileConversion {
    /// What stands in for an unmappable character the table does not name: the geta mark, which
    /// Japanese systems have always used for "a character that could not be shown".
    static let geta: Unicode.Scalar = "\u{3013}"
    /// Two of these are in flight besides the one converting: memory stays flat and well under
    /// 64 MB, whatever the file's size.
    static let chunkSize = 2 << 20

    static func perform(_ convert: LinkRequest.Convert, say: (String) -> Void) -> LinkResult {
        let name = convert.source.split(separator: "/").last.map(String.init) ?? convert.source
        let input = open(convert.source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            // A file the link's contract expects that is not there is the data's fault, as for check.
            return failure(errno == ENOENT ? .data : .exit, "cannot read \(convert.source) to convert it: \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        _ = posix_fadvise(input, 0, 0, POSIX_FADV_SEQUENTIAL)
        let directory = String(convert.target[..<(convert.target.lastIndex(of: "/") ?? convert.target.startIndex)])
        if !directory.isEmpty { mkdir(directory, 0o750) }
        let temporary = convert.target + ".renkei-tmp"
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard output >= 0 else {
            return failure(.exit, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let sink = Sink(descriptor: output)
        var run = Conversion(convert)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var converted: [UInt8] = []
        var problem: String?
        reading: while true {
            let count = read(input, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                problem = "cannot read \(convert.source): \(String(cString: strerror(errno)))"
                break
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            do {
                if count == 0 { try run.finish(into: &converted) } else { try run.convert(chunk, into: &converted) }
            } catch {
                problem = error.message
                break reading
            }
            // Both hashes and the write happen on the sink's thread while the next chunk converts.
            sink.take(source: Array(chunk), converted: converted)
            converted = []
            if let failure = sink.failure { problem = failure; break }
            if count == 0 { break }
        }
        let (written, sourceDigest, convertedDigest) = sink.finish()
        if problem == nil, let failure = sink.failure { problem = failure }
        // Not fsynced: the file stays in the run's work directory, and `deliver` syncs its own copy
        // before the target sees it; after a crash the run is rerun anyway. Syncing a 1 GiB file
        // here cost more than converting it.
        close(output)
        guard problem == nil, rename(temporary, convert.target) == 0 else {
            unlink(temporary)
            let message = problem ?? "cannot put \(convert.target) in place: \(String(cString: strerror(errno)))"
            return failure(run.isDataProblem ? .data : .exit, "\(name) could not be converted from \(convert.from.rawValue) to \(convert.toEncoding.rawValue): \(message)")
        }
        let sha256 = convertedDigest
        var note = "\(convert.from.rawValue) → \(convert.toEncoding.rawValue), newlines \(convert.newline.rawValue)"
        if run.substitutions > 0 { note += "; \(run.substitutions) character\(run.substitutions == 1 ? "" : "s") substituted" }
        say("converted \(convert.source) (\(convert.from.rawValue)) into \(convert.target) (\(convert.toEncoding.rawValue)): \(written) bytes" +
            (run.substitutions > 0 ? ", \(run.substitutions) substitution\(run.substitutions == 1 ? "" : "s"):" : ""))
        for line in run.listed { say("  \(line)") }
        if run.substitutions > run.listed.count { say("  … and \(run.substitutions - run.listed.count) more") }
        let file = LinkFile(direction: .converted, path: convert.target, source: convert.source, bytes: written, sha256: sha256,
                            outcome: .converted, note: note, sourceSHA256: sourceDigest)
        return LinkResult(files: [file], findings: run.substitutions > 0 ? .init(count: run.substitutions, listed: run.listed) : nil)
    }

    private static func failure(_ errorClass: ErrorClass, _ message: String) -> LinkResult {
        LinkResult(failure: .init(errorClass: errorClass, message: message))
    }

    /// The output file, written on a thread of its own: both SHA-256s and the write of one chunk
    /// overlap the conversion of the next (at most two chunks in flight), which is what lets a
    /// conversion that also hashes and writes keep up with `iconv | wc` on two cores.
    private final class Sink: Sendable {
        private struct State {
            var written: Int64 = 0
            var sourceHash = SHA256()
            var convertedHash = SHA256()
            var failure: String?
        }
        private let descriptor: Int32
        private let state = Mutex(State())
        private let queue = DispatchQueue(label: "renkei-convert-sink")
        private let inFlight = DispatchSemaphore(value: 2)

        init(descriptor: Int32) { self.descriptor = descriptor }

        var failure: String? { state.withLock { $0.failure } }

        func take(source: [UInt8], converted: [UInt8]) {
            inFlight.wait()
            let descriptor = self.descriptor
            queue.async { [self] in
                defer { inFlight.signal() }
                self.state.withLock { state in
                    state.sourceHash.update(data: source)
                    state.convertedHash.update(data: converted)
                    guard state.failure == nil else { return }
                    converted.withUnsafeBytes { bytes in
                        var offset = 0
                        while offset < bytes.count {
                            let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                            if count < 0 {
                                if errno == EINTR { continue }
                                state.failure = errno == ENOSPC ? "no space left on the work directory's disk" : String(cString: strerror(errno))
                                return
                            }
                            offset += count
                            state.written += Int64(count)
                        }
                    }
                }
            }
        }

        /// Waits for what is in flight; the bytes written and both digests.
        func finish() -> (written: Int64, source: String, converted: String) {
            queue.sync {}
            return state.withLock { ($0.written, Hex.string($0.sourceHash.finalize()), Hex.string($0.convertedHash.finalize())) }
        }
    }

    /// Why a conversion stopped, for the operator.
    struct Stop: Error {
        var message: String
    }
}

/// One conversion's state: the fast converter when nothing is substituted, else a character at a
/// time with the table.
private struct Conversion {
    let convert: LinkRequest.Convert
    private var fast: TextConverter?
    private var decoder: TextDecoder
    private var encoder: TextEncoder
    private var carriageReturn = false
    private(set) var substitutions = 0
    private(set) var listed: [String] = []
    /// The last failure was the data's (bad bytes, an unmappable character), not the disk's.
    private(set) var isDataProblem = false

    init(_ convert: LinkRequest.Convert) {
        self.convert = convert
        let source = TextEncoding(convert.from), target = TextEncoding(convert.toEncoding)
        decoder = TextDecoder(source)
        encoder = TextEncoder(target)
        if convert.unmappable == .fail {
            fast = try? TextConverter(from: source, to: target, newlines: NewlineConversion(rawValue: convert.newline.rawValue) ?? .keep)
        }
    }

    mutating func convert(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(FileConversion.Stop) {
        if var fast {
            do { try fast.convert(chunk, appendingTo: &output) } catch { isDataProblem = true; throw FileConversion.Stop(message: error.description) }
            self.fast = fast
            return
        }
        var stop: FileConversion.Stop?
        var decoder = self.decoder
        decoder.decode(chunk) { event in
            guard stop == nil else { return }
            do throws(FileConversion.Stop) { try self.take(event, into: &output) } catch { stop = error }
        }
        self.decoder = decoder
        if let stop { isDataProblem = true; throw stop }
    }

    mutating func finish(into output: inout [UInt8]) throws(FileConversion.Stop) {
        if var fast {
            do { try fast.finish(appendingTo: &output) } catch { isDataProblem = true; throw FileConversion.Stop(message: error.description) }
            self.fast = fast
            return
        }
        var stop: FileConversion.Stop?
        var decoder = self.decoder
        decoder.finish { event in
            guard stop == nil else { return }
            do throws(FileConversion.Stop) { try self.take(event, into: &output) } catch { stop = error }
        }
        self.decoder = decoder
        if let stop { isDataProblem = true; throw stop }
        if carriageReturn { try write("\r", at: nil, into: &output) }
        encoder.finish(into: &output)
    }

    private mutating func take(_ event: TextDecoder.Event, into output: inout [UInt8]) throws(FileConversion.Stop) {
        switch event {
        case .problem(let problem):
            throw FileConversion.Stop(message: problem.description)
        case .scalar(let scalar, let position):
            // Newlines as `newline:` says; a lone CR is text.
            if carriageReturn {
                carriageReturn = false
                if scalar == "\n" {
                    try write(convert.newline == .lf ? "\n" : "\r\n", at: position, into: &output)
                    return
                }
                try write("\r", at: position, into: &output)
            }
            if scalar == "\r" { carriageReturn = true; return }
            if scalar == "\n" { try write(convert.newline == .crlf ? "\r\n" : "\n", at: position, into: &output); return }
            try write(String(scalar), at: position, into: &output)
        }
    }

    private mutating func write(_ text: String, at position: TextPosition?, into output: inout [UInt8]) throws(FileConversion.Stop) {
        for scalar in text.unicodeScalars {
            do {
                try encoder.encode(scalar, into: &output)
            } catch {
                let replacement = convert.substitutions[scalar.value] ?? String(FileConversion.geta)
                do {
                    try encoder.encode(replacement, into: &output)
                } catch {
                    throw FileConversion.Stop(message: "the substitution for \(scalar.codePointDescription), \(replacement.unicodeScalars.map(\.codePointDescription).joined(separator: " ")), cannot be written in \(convert.toEncoding.rawValue) either")
                }
                substitutions += 1
                if listed.count < LinkResult.Findings.listed {
                    let place = position.map { "line \($0.line), column \($0.column) (byte \($0.offset))" } ?? "the end"
                    listed.append("\(place): \(scalar.codePointDescription) → \(replacement)" +
                                  (convert.substitutions[scalar.value] == nil ? " (not in the substitution table)" : ""))
                }
            }
        }
    }
}

extension Error {
    var message: String { (self as? FileConversion.Stop)?.message ?? "\(self)" }
}
