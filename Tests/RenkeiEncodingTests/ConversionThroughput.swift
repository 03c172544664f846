import Foundation
import Testing
@testable import RenkeiEncoding

/// A measurement to run by hand, not a test of speed (a timed assertion fails on a busy machine
/// and proves nothing on a fast one). In a release build (`-enable-testing` for `@testable import`):
///
///     swift build -c release --build-tests -Xswiftc -enable-testing
///     RENKEI_ENCODING_THROUGHPUT=1 swift test -c release -Xswiftc -enable-testing --skip-build --filter ConversionThroughput
///
/// It writes about 200 MB of cp932 records (kanji names and addresses, kana, digits, CR LF) to a
/// temporary file, converts it to UTF-8 three times — read in 1 MiB chunks, written to a file —
/// and runs `iconv -f CP932 -t UTF-8` on the same file three times, then prints the best of each;
/// then checks the file against `jisx0208` as a `check` step would, three times. It asserts only
/// that both conversions wrote the same bytes.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RENKEI_ENCODING_THROUGHPUT"] != nil))
struct ConversionThroughput {
    @Test func cp932ToUTF8AgainstIconv() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-encoding-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("records.cp932").path
        try Data(Self.records(megabytes: 200)).write(to: URL(fileURLWithPath: input))
        let size = Double(try FileManager.default.attributesOfItem(atPath: input)[.size] as! Int)

        let ours = directory.appendingPathComponent("ours.utf8").path
        let theirs = directory.appendingPathComponent("iconv.utf8").path
        let renkei = try (0..<3).map { _ in try Self.seconds { try Self.convert(input, to: ours) } }.min()!
        let iconv = try (0..<3).map { _ in try Self.seconds { try Self.iconv(input, to: theirs) } }.min()!
        print(String(format: "cp932 → UTF-8, %.0f MB: RenkeiEncoding %.3f s (%.0f MB/s), iconv %.3f s (%.0f MB/s): %.0f %% of iconv's throughput",
                     size / 1e6, renkei, size / 1e6 / renkei, iconv, size / 1e6 / iconv, 100 * iconv / renkei))
        #expect(FileManager.default.contentsEqual(atPath: ours, andPath: theirs))
        let check = try (0..<3).map { _ in try Self.seconds { try Self.check(input) } }.min()!
        print(String(format: "cp932 checked against jisx0208: %.3f s (%.0f MB/s)", check, size / 1e6 / check))
    }

    /// As a check step would: 1 MiB at a time, counting what is outside the repertoire.
    private static func check(_ path: String) throws {
        let source = open(path, O_RDONLY)
        defer { close(source) }
        var decoder = TextDecoder(.cp932)
        var findings = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = read(source, chunk.baseAddress, chunk.count)
            precondition(count >= 0, "read failed")
            if count == 0 { break }
            decoder.check(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), characters: .jisx0208) { _ in findings += 1 }
        }
        decoder.finish(characters: .jisx0208) { _ in findings += 1 }
        #expect(findings == 0)
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let elapsed = try ContinuousClock().measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// As a convert step would: 1 MiB at a time, into a buffer of its own, written out.
    private static func convert(_ path: String, to target: String) throws {
        let source = open(path, O_RDONLY), sink = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(source); close(sink) }
        var converter = try TextConverter(from: .cp932, to: .utf8)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: TextConverter.outputCapacity(forInputCount: chunk.count), alignment: 16)
        defer { chunk.deallocate(); output.deallocate() }
        while true {
            let count = read(source, chunk.baseAddress, chunk.count)
            precondition(count >= 0, "read failed")
            if count == 0 { break }
            let written = try converter.convert(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), into: output)
            precondition(write(sink, output.baseAddress, written) == written, "write failed")
        }
        let written = try converter.finish(into: output)
        precondition(write(sink, output.baseAddress, written) == written, "write failed")
    }

    private static func iconv(_ path: String, to target: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/iconv")
        process.arguments = ["-f", "CP932", "-t", "UTF-8", "-o", target, path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// Resident records as a registry export has them: `00000001,"漢字名","カナ","住所1丁目2番地",1961-04-12,123456`.
    static func records(megabytes: Int) -> [UInt8] {
        var random = SplitMix64(seed: 7)
        var text: [UInt8] = []
        text.reserveCapacity(megabytes << 20)
        func kanji(_ count: ClosedRange<Int>) {
            for _ in 0..<Int.random(in: count, using: &random) {
                // Lead bytes 0x89–0x97 hold JIS level 1 rows 17–46, every cell assigned.
                let trail = UInt8.random(in: 0x40...0xFB, using: &random)
                text += [UInt8.random(in: 0x89...0x97, using: &random), trail == 0x7F ? 0x80 : trail]
            }
        }
        func ascii(_ string: String) { text += Array(string.utf8) }
        var number = 0
        while text.count < megabytes << 20 {
            number += 1
            ascii(String(format: "%08d,\"", number))
            kanji(2...5)
            ascii("\",\"")
            for _ in 0..<Int.random(in: 4...10, using: &random) { text += [0x83, UInt8.random(in: 0x40...0x7E, using: &random)] }
            ascii("\",\"")
            kanji(8...20)
            ascii("\(Int.random(in: 1...30, using: &random))")
            text += [0x92, 0x9A, 0x96, 0xDA]  // 丁目
            ascii("\(Int.random(in: 1...99, using: &random))")
            text += [0x94, 0xD4, 0x92, 0x6E]  // 番地
            ascii(String(format: "\",19%02d-%02d-%02d,%06d\r\n", Int.random(in: 30...99, using: &random), Int.random(in: 1...12, using: &random),
                         Int.random(in: 1...28, using: &random), Int.random(in: 0...999_999, using: &random)))
        }
        return text
    }
}
