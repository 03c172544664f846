import Foundation
import Logging
import RenkeiCore

/// A swift-log handler writing each message as a structured journal entry: `MESSAGE`, `PRIORITY`,
/// `SYSLOG_IDENTIFIER`, `CODE_FILE`/`CODE_LINE`/`CODE_FUNC`, and every metadata item as a field
/// (`RENKEI_JOB`, `MESSAGE_ID`, …).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    /// `SYSLOG_IDENTIFIER`: `renkeid`, `renkeictl`.
    public let identifier: String

    public init(identifier: String) {
        self.identifier = identifier
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = [
            Journal.Field("MESSAGE", event.message.description),
            Journal.Field("PRIORITY", String(Journal.priority(event.level.rawValue))),
            Journal.Field("SYSLOG_IDENTIFIER", identifier),
            Journal.Field("CODE_FILE", event.file),
            Journal.Field("CODE_LINE", String(event.line)),
            Journal.Field("CODE_FUNC", event.function),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append(Journal.Field(Journal.Field.sanitizedName(key), "\(value)"))
        }
        Journal.send(fields)
    }
}

/// The same events on standard error, one line each, when there is no journal: time, level, the
/// message, and the key fields (`RENKEI_JOB=… RENKEI_RUN_ID=…`).
public struct ConsoleLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let identifier: String
    /// Fields worth a place on the line; the rest (MESSAGE_ID, …) stay out of the operator's way.
    static let shown = ["RENKEI_JOB", "RENKEI_RUN_ID", "RENKEI_STEP", "RENKEI_ATTEMPT", "RENKEI_TRIGGER", "RENKEI_STATE",
                        "RENKEI_ERROR_CLASS", "RENKEI_EXIT_STATUS", "RENKEI_REQUESTED_BY"]

    /// 2026-11-26T06:00:00.123Z (FoundationEssentials' style: no ICU formatter per line).
    static let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public init(identifier: String) {
        self.identifier = identifier
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        // Messages carry reasons and step errors: their control characters are shown, so one
        // event stays one line and cannot drive the terminal.
        let fields = Self.shown.compactMap { key in merged[key].map { "\(key)=\(SafeText.visible("\($0)"))" } }.joined(separator: " ")
        let line = "\(Date().formatted(Self.timestamp)) \(identifier)[\(getpid())] \(event.level.rawValue): \(SafeText.visible(event.message.description))" + (fields.isEmpty ? "" : "  [\(fields)]")
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// Where log events go: `auto` is the journal when its socket exists, else the console.
public enum LogTarget: String, Sendable, CaseIterable {
    case auto, journal, console

    /// Installs the handler for this target, once per process.
    public func bootstrap(identifier: String, level: Logger.Level = .info) {
        let useJournal = self == .journal || (self == .auto && Journal.isAvailable)
        LoggingSystem.bootstrap { _ in
            if useJournal {
                var handler = JournalLogHandler(identifier: identifier)
                handler.logLevel = level
                return handler
            }
            var handler = ConsoleLogHandler(identifier: identifier)
            handler.logLevel = level
            return handler
        }
    }
}
