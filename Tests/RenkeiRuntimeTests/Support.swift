import Foundation
@testable import RenkeiRuntime

/// A scratch directory with a jobs directory and a state directory, removed at the end.
final class Scratch {
    let root: String
    var jobs: String { root + "/jobs" }
    var state: String { root + "/state" }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("renkei-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chmod(root, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    @discardableResult
    func writeJob(_ name: String, _ text: String, mode: mode_t = 0o644) -> String {
        let path = jobs + "/\(name).yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        chmod(path, mode)
        return path
    }
}

/// The built `renkeictl` (make test builds it before the tests).
let renkeictl: String = {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repository.appendingPathComponent(".build/debug/renkeictl").path
}()

struct Finished {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program to its end and returns its exit status and output.
func execute(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Finished(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}
