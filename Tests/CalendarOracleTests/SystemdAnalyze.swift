import Foundation

/// What `systemd-analyze calendar` says about one expression.
struct OracleAnswer: Equatable {
    /// Nil when systemd refused the expression.
    var normalized: String?
    /// Elapses in whole seconds since the epoch (systemd prints no fractions).
    var elapses: [Int64]
    /// systemd parsed it but gave up computing an elapse ("Resource deadlock avoided": the time
    /// never exists, such as 02:30 on the day clocks spring forward, every year).
    var gaveUp = false
}

/// Runs `systemd-analyze calendar --base-time=… --iterations=…` on many expressions at once, with
/// TZ=UTC so every time it prints is UTC, and reads its answers.
enum SystemdAnalyze {
    static let path = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func calendar(_ expressions: [String], baseTime: String, iterations: Int) throws -> [String: OracleAnswer] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = ["calendar", "--base-time=\(baseTime)", "--iterations=\(iterations)"] + expressions
        process.environment = ["TZ": "UTC", "LANG": "C", "PATH": "/usr/bin:/bin", "SYSTEMD_COLORS": "0"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        var answers: [String: OracleAnswer] = [:]
        for line in String(decoding: stderrData, as: UTF8.self).split(separator: "\n") {
            let gaveUpPrefix = "Failed to determine next elapse for '"
            if line.hasPrefix(gaveUpPrefix), let end = line.range(of: "': ", options: .backwards) {
                let expression = String(line[line.index(line.startIndex, offsetBy: gaveUpPrefix.count)..<end.lowerBound])
                answers[expression] = OracleAnswer(normalized: nil, elapses: [], gaveUp: true)
                continue
            }
            let prefix = "Failed to parse calendar specification '"
            guard line.hasPrefix(prefix), let end = line.range(of: "': ", options: .backwards) else { continue }
            let expression = String(line[line.index(line.startIndex, offsetBy: prefix.count)..<end.lowerBound])
            answers[expression] = OracleAnswer(normalized: nil, elapses: [])
        }
        // One block per parsed expression, separated by blank lines. "Original form" is printed
        // only when it differs from the normalized form.
        let output = String(decoding: stdoutData, as: UTF8.self)
        for block in output.components(separatedBy: "\n\n") {
            var original: String?
            var answer = OracleAnswer(normalized: nil, elapses: [])
            for rawLine in block.split(separator: "\n") {
                let line = rawLine.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("Original form: ") {
                    original = String(line.dropFirst("Original form: ".count))
                } else if line.hasPrefix("Normalized form: ") {
                    answer.normalized = String(line.dropFirst("Normalized form: ".count))
                } else if line.hasPrefix("Next elapse: ") || line.hasPrefix("Iter. #") {
                    let value = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
                    if value != "never" { answer.elapses.append(try parseTime(value)) }
                }
            }
            guard let normalized = answer.normalized else { continue }
            if answers[original ?? normalized]?.gaveUp == true { continue }
            answers[original ?? normalized] = answer
        }
        return answers
    }

    /// `Tue 2026-01-27 06:30:00 UTC` → seconds since the epoch.
    static func parseTime(_ text: String) throws -> Int64 {
        let parts = text.split(separator: " ")
        guard parts.count == 4, parts[3] == "UTC" else { throw OracleError.unexpected(text) }
        let date = parts[1].split(separator: "-").compactMap { Int($0) }
        let time = parts[2].split(separator: ":").compactMap { Int($0) }
        guard date.count == 3, time.count == 3 else { throw OracleError.unexpected(text) }
        var components = DateComponents()
        components.year = date[0]; components.month = date[1]; components.day = date[2]
        components.hour = time[0]; components.minute = time[1]; components.second = time[2]
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return Int64(calendar.date(from: components)!.timeIntervalSince1970)
    }

    enum OracleError: Error { case unexpected(String) }
}
