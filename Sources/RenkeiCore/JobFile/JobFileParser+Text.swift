import Yams

/// The text layer under the YAML: bytes that must be UTF-8, and YAML syntax errors, each turned
/// into a problem with a position.
extension JobFileParser {
    /// The file as text, or nil after reporting where the first invalid UTF-8 byte is.
    mutating func decodeUTF8(_ bytes: [UInt8]) -> String? {
        var text = bytes
        // A UTF-8 byte-order mark (Windows editors write one) is harmless: drop it.
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text.removeFirst(3) }
        var decoder = UTF8()
        var iterator = text.makeIterator()
        var line = 1
        var column = 1
        var byteOffset = 0
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                // YAML forbids NUL; Yams would report it at no position. Say where it is.
                if scalar == "\0" {
                    problems.append(JobFileProblem(
                        file: file, line: line, column: column,
                        message: "the file holds a NUL byte (at offset \(byteOffset)): a job file is text; remove it (was the file saved as UTF-16?)"
                    ))
                    return nil
                }
                scalars.append(scalar)
                byteOffset += UTF8.width(scalar)
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                break loop
            case .error:
                let byte = byteOffset < text.count ? text[byteOffset] : 0
                let hex = String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
                problems.append(JobFileProblem(
                    file: file, line: line, column: column,
                    message: "the file is not valid UTF-8 (byte 0x\(hex) at offset \(byteOffset)): save it as UTF-8 (for Shift_JIS: iconv -f CP932 -t UTF-8)"
                ))
                return nil
            }
        }
        return String(scalars)
    }

    /// Reports a Yams error at the position it carries.
    mutating func reportYAMLError(_ error: any Error, text: String) {
        guard let yamlError = error as? YamlError else {
            problems.append(JobFileProblem(file: file, line: 0, column: 0, message: "cannot read the YAML: \(error)"))
            return
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            problems.append(JobFileProblem(file: file, line: mark.line, column: mark.column, message: message))
        case .duplicatedKeysInMapping(let duplicates, let context):
            for key in duplicates {
                let position = Self.secondOccurrence(of: key, after: context.mark, in: text) ?? (context.mark.line, context.mark.column)
                problems.append(JobFileProblem(
                    file: file, line: position.line, column: position.column,
                    message: "duplicate key '\(key)' (first on line \(context.mark.line)): each key may appear once; remove one of them"
                ))
            }
        case .reader(let problem, let offset, _, _):
            problems.append(JobFileProblem(file: file, line: 0, column: 0, message: "cannot read the YAML: \(problem)" + (offset.map { " at byte \($0)" } ?? "")))
        default:
            problems.append(JobFileProblem(file: file, line: 0, column: 0, message: "cannot read the YAML: \(yamlError)"))
        }
    }

    /// Yams points at the first of two duplicate keys; the operator needs the second, which is the
    /// one usually added by mistake. Looks for `key:` at the same column on a later line.
    static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1 else { return nil }
        for index in mark.line..<lines.count {
            let line = Array(lines[index].unicodeScalars)
            let start = mark.column - 1
            guard start >= 0, line.count > start else { continue }
            let rest = String(String.UnicodeScalarView(line[start...]))
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(candidate + ":") {
                let before = line[..<start]
                if before.allSatisfy({ $0 == " " || $0 == "-" }) { return (index + 1, mark.column) }
            }
        }
        return nil
    }
}
