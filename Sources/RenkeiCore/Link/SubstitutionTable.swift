/// A `convert` step's substitution table: which character stands in for one the target encoding
/// cannot hold (縮退, such as 𠮷 → 吉). One per line, `U+20BB7<TAB>吉` (or the character itself
/// before the tab); `#` starts a comment; blank lines are skipped.
public enum SubstitutionTable {
    public struct Problem: Error, Sendable, Equatable {
        public let line: Int
        public let column: Int
        public let message: String
    }

    public static func parse(_ text: String) -> Result<[UInt32: String], Problem> {
        var table: [UInt32: String] = [:]
        var firstLine: [UInt32: Int] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let content = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if content.allSatisfy({ $0 == " " || $0 == "\t" }) || content.hasPrefix("#") { continue }
            let parts = content.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                return .failure(Problem(line: line, column: 1, message: "expected 'U+XXXX<TAB>replacement', such as 'U+20BB7\t吉' (a tab between the two)"))
            }
            let key = parts[0].trimmingCharacters(" ")
            let scalar: UInt32
            if key.hasPrefix("U+") || key.hasPrefix("u+"), let value = UInt32(key.dropFirst(2), radix: 16), Unicode.Scalar(value) != nil, key.count >= 6 {
                scalar = value
            } else if key.unicodeScalars.count == 1, let only = key.unicodeScalars.first {
                scalar = only.value
            } else {
                return .failure(Problem(line: line, column: 1, message: "'\(key)' is not one character: write its code point as U+XXXX (4 to 6 hex digits) or the character itself"))
            }
            let replacement = String(parts[1])
            guard !replacement.isEmpty else {
                return .failure(Problem(line: line, column: parts[0].count + 2, message: "the replacement for \(key) is empty"))
            }
            if let first = firstLine[scalar] {
                return .failure(Problem(line: line, column: 1, message: "\(key) is already substituted on line \(first)"))
            }
            firstLine[scalar] = line
            table[scalar] = replacement
        }
        return .success(table)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(_ character: Character) -> String {
        var text = self[...]
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}
