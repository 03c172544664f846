import ArgumentParser
import Foundation
import RenkeiCore
import RenkeiLink

/// `renkeictl check-file` and `convert-file`: a link's data contract tried on any file, without a
/// job, as a link's designer does before writing the job file. The same code as the `check` and
/// `convert` steps, the same problems printed; exit 0 if the file meets the contract, 1 if not.
struct CheckFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-file",
        abstract: "Check a file against a link contract (as a check: step would), without a job.",
        discussion: """
            Prints every problem found (the first 20 listed, all counted) with row, column and byte \
            offset; exit 0 if the file meets the contract, 1 if not.

            Examples:
              renkeictl check-file IDO_20261201.csv --encoding cp932 --header 異動日,住民番号,氏名,異動事由 --columns 4 \\
                  --count-trailer '^TRAILER,(\\d+)$' --characters jisx0208
              renkeictl check-file ZENGIN.dat --encoding shift_jis --format fixed --record-length 120 --newline crlf
            """
    )

    @Argument(help: "The file to check.") var file: String
    @Option(help: "utf-8 | utf-8-bom | cp932 | shift_jis | euc-jp") var encoding: String
    @Option(help: "crlf | lf | any | none (fixed only)") var newline: String = "any"
    @Option(help: "csv | fixed") var format: String = "csv"
    @Option(help: ArgumentHelp("csv: the first record's fields, comma-separated.", valueName: "A,B,…")) var header: String?
    @Option(help: "csv: fields in every record.") var columns: Int?
    @Option(help: "fixed: bytes per record in the file's encoding.") var recordLength: Int?
    @Option(help: ArgumentHelp("A pattern the last record matches; its first group is the declared record count.", valueName: "REGEX")) var countTrailer: String?
    @Option(help: ArgumentHelp("A control file whose first number is the declared record count.", valueName: "FILE")) var countControlFile: String?
    @Option(help: ArgumentHelp("csv: the column whose values are added up (1-based).", valueName: "N")) var sumColumn: Int?
    @Option(help: ArgumentHelp("The pattern whose first group is the declared total (with --sum-column).", valueName: "REGEX")) var sumTrailer: String?
    @Option(help: "jisx0208 | cp932 | jisx0213 | unicode") var characters: String?

    func run() throws {
        var count: LinkStep.Declared?
        switch (countTrailer, countControlFile) {
        case (let pattern?, nil): count = .trailer(pattern)
        case (nil, let path?): count = .controlFile(path)
        case (_?, _?): throw ValidationError("give --count-trailer or --count-control-file, not both")
        case (nil, nil): break
        }
        var sum: LinkStep.Sum?
        if let sumColumn {
            guard let sumTrailer else { throw ValidationError("--sum-column needs --sum-trailer, the pattern of the declared total") }
            sum = LinkStep.Sum(column: sumColumn, declared: .trailer(sumTrailer))
        }
        for pattern in [countTrailer, sumTrailer].compactMap({ $0 }) {
            do { _ = try Regex(pattern) } catch { throw ValidationError("'\(pattern)' is not a regular expression: \(error)") }
        }
        let check = LinkRequest.Check(
            file: URL(fileURLWithPath: file).standardizedFileURL.path, encoding: try choice(encoding, "encoding", LinkStep.Encoding.self),
            newline: try choice(newline, "newline", LinkStep.Newline.self), format: try choice(format, "format", LinkStep.Format.self),
            header: header.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }, columns: columns,
            recordLength: recordLength, count: count, sum: sum,
            characters: try characters.map { try choice($0, "characters", LinkStep.CharacterRepertoire.self) })
        if check.format == .fixed && recordLength == nil { throw ValidationError("--format fixed needs --record-length") }
        try LinkStepOutcome.finish(LinkStepProcess.check(check) { print(SafeText.visible($0)) })
    }
}

struct ConvertFile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-file",
        abstract: "Re-encode a file (as a convert: step would), without a job.",
        discussion: """
            Invalid input bytes and (with --unmappable fail) characters the target encoding cannot \
            hold stop the conversion with their line, column and byte offset; nothing is left under \
            the target name. Exit 0 if converted, 1 if not.

            Example:
              renkeictl convert-file IDO.csv IDO.utf8.csv --from cp932 --to-encoding utf-8 --newline lf
              renkeictl convert-file names.csv names.sjis.csv --from utf-8 --to-encoding cp932 --unmappable substitute --substitutions gaiji.tsv
            """
    )

    @Argument(help: "The file to convert.") var file: String
    @Argument(help: "Where the converted file goes.") var target: String
    @Option(help: "The file's encoding: utf-8 | utf-8-bom | cp932 | shift_jis | euc-jp") var from: String
    @Option(help: "The encoding to write.") var toEncoding: String
    @Option(help: "keep | lf | crlf") var newline: String = "keep"
    @Option(help: "fail | substitute") var unmappable: String = "fail"
    @Option(help: ArgumentHelp("With --unmappable substitute: lines of U+XXXX<TAB>replacement.", valueName: "FILE")) var substitutions: String?

    func run() throws {
        var table: [UInt32: String] = [:]
        if let substitutions {
            guard let data = FileManager.default.contents(atPath: substitutions), let text = String(data: data, encoding: .utf8) else {
                throw Failure(.usage, "cannot read the substitution table \(substitutions) as UTF-8 text")
            }
            switch SubstitutionTable.parse(text) {
            case .success(let parsed): table = parsed
            case .failure(let problem): throw Failure(.usage, "\(substitutions):\(problem.line):\(problem.column): error: \(problem.message)")
            }
        }
        let convert = LinkRequest.Convert(
            source: URL(fileURLWithPath: file).standardizedFileURL.path, target: URL(fileURLWithPath: target).standardizedFileURL.path,
            from: try choice(from, "from", LinkStep.Encoding.self), toEncoding: try choice(toEncoding, "to-encoding", LinkStep.Encoding.self),
            newline: try choice(newline, "newline", LinkStep.NewlineConversion.self), unmappable: try choice(unmappable, "unmappable", LinkStep.Unmappable.self),
            substitutions: table)
        try LinkStepOutcome.finish(LinkStepProcess.convert(convert) { print(SafeText.visible($0)) })
    }
}

/// An option's value as one of its choices, or an error naming the option and the choices.
func choice<Choice: RawRepresentable & CaseIterable>(_ text: String, _ option: String, _: Choice.Type) throws -> Choice where Choice.RawValue == String {
    guard let value = Choice(rawValue: text) else {
        throw ValidationError("--\(option) '\(text)': use one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
}

/// The end of a built-in step run by hand: its failure on standard error, exit 1.
enum LinkStepOutcome {
    static func finish(_ result: LinkResult) throws {
        if let failure = result.failure {
            throw Failure(.runDidNotSucceed, "[\(failure.errorClass.rawValue)] \(failure.message)")
        }
    }
}
