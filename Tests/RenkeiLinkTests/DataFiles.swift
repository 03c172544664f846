import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiLink

/// A directory of real files for one test, removed when the test is done with it.
final class DataDirectory {
    let root: String

    init() throws {
        var template = Array("/tmp/renkei-data-test.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        root = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `bytes` as `name` and returns its absolute path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = root + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func path(_ name: String) -> String { root + "/" + name }

    func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    /// Every name in the directory (and in `out/`), to see what a step left behind.
    func names() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        return ((enumerator?.allObjects as? [String]) ?? []).sorted()
    }
}

/// `text` in `encoding` as glibc's iconv writes it: test files are made by a converter that
/// shares no code with Renkei's. (Only characters that glibc and Windows agree on: no `\` or `~`,
/// which glibc's SHIFT_JIS reads as ¥ and ‾.)
func iconv(_ text: String, to encoding: String) throws -> [UInt8] {
    try iconv(Array(text.utf8), from: "UTF-8", to: encoding)
}

func iconv(_ bytes: [UInt8], from source: String, to target: String) throws -> [UInt8] {
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-iconv-\(UUID().uuidString)")
    try Data(bytes).write(to: input)
    defer { try? FileManager.default.removeItem(at: input) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/iconv")
    process.arguments = ["-f", source, "-t", target, input.path]
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let converted = output.fileHandleForReading.readDataToEndOfFile()
    let complaint = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw IconvFailure(message: String(decoding: complaint, as: UTF8.self))
    }
    return Array(converted)
}

struct IconvFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { "iconv: \(message)" }
}

/// What a built-in step answered and what it said on its output, line by line.
struct StepAnswer {
    var result: LinkResult
    var output: [String]

    /// The problems (check) or substitutions (convert) it listed.
    var listed: [String] { result.findings?.listed ?? [] }
    var failure: LinkResult.Failure? { result.failure }
}

func perform(_ check: LinkRequest.Check) -> StepAnswer {
    var output: [String] = []
    let result = FileCheck.perform(check) { output.append($0) }
    return StepAnswer(result: result, output: output)
}

func perform(_ convert: LinkRequest.Convert) -> StepAnswer {
    var output: [String] = []
    let result = FileConversion.perform(convert) { output.append($0) }
    return StepAnswer(result: result, output: output)
}
