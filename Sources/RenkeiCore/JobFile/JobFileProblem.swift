/// One thing wrong with a job file, where it is, and what to do about it. Printed the way
/// compilers print errors, so editors and `grep` can jump to it.
public struct JobFileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the operator named it.
    public var file: String
    /// 1-based line; 0 when the problem is with the file as a whole and there is no line to point at.
    public var line: Int
    /// 1-based column, in characters.
    public var column: Int
    public var message: String
    /// Set on the last line of a list cut short: how many problems were left out.
    public var omitted: Int?

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// The line that ends a list cut short: `… and 99901 more problems in FILE`.
    public static func omitted(_ count: Int, in file: String) -> JobFileProblem {
        var problem = JobFileProblem(file: file, line: 0, column: 0, message: "… and \(count) more problems in \(file)")
        problem.omitted = count
        return problem
    }

    /// `FILE:LINE:COL: error: MESSAGE`; a problem with the whole file points at 1:1.
    public var description: String {
        omitted == nil ? "\(file):\(max(line, 1)):\(max(column, 1)): error: \(message)" : message
    }
}
