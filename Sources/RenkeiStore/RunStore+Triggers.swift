import Foundation
import GRDB
import RenkeiCore

/// One row of `trigger_file`: a file whose arrival started a run of a job with `trigger:` (or is
/// starting one). One per job and content, so a file starts one run however often it is seen.
public struct TriggerFileRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "trigger_file"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var job: String
    /// Where it was when it was first seen; the same content seen later under another name keeps this one.
    public var path: String
    public var sha256: String
    public var bytes: Int64
    /// `2026-12-01`: the date of the run it starts (from the name, else the day it arrived).
    public var logicalDate: String
    /// The run it started; nil until that run is recorded.
    public var runId: Int64?
    public var seenAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// What the store answers when the watcher hands over a file.
public enum TriggerFileClaim: Sendable, Equatable {
    /// New content for the job: start its run, then `attachRun(triggerFile:runID:)`.
    case new(Int64)
    /// This content already started a run of the job (nil: one is being started, or renkeid
    /// stopped before it was recorded — see `triggerFilesWithoutRun`), first seen at `path`.
    case alreadySeen(runID: Int64?, path: String)
}

extension RunStore {
    /// Claims `sha256` for `job`: `.new` the first time, in which case the row is written;
    /// `.alreadySeen` ever after, whatever the file's name. One write, fsynced: once a file is
    /// claimed, no restart or power cut lets it be claimed again.
    public func claimTriggerFile(job: String, path: String, sha256: String, bytes: Int64, logicalDate: String,
                                 at now: Date) async throws -> TriggerFileClaim {
        try await write(.powerCut) { db in
            if let earlier = try TriggerFileRecord.fetchOne(db, sql: "SELECT * FROM trigger_file WHERE job = ? AND sha256 = ?",
                                                            arguments: [job, sha256]) {
                return .alreadySeen(runID: earlier.runId, path: earlier.path)
            }
            var row = TriggerFileRecord(id: nil, job: job, path: path, sha256: sha256, bytes: bytes, logicalDate: logicalDate,
                                        runId: nil, seenAt: now)
            try row.insert(db)
            return .new(row.id!)
        }
    }

    /// Records that the claimed file `id` started run `runID`. Not fsynced on its own: call it
    /// before the run's first step starts, whose fsynced write then carries it to the disk (a
    /// power cut before that loses the run's row with it, and the claim gets its run again).
    public func attachRun(triggerFile id: Int64, runID: Int64) async throws {
        try await write(.processCrash) { db in
            try db.execute(sql: "UPDATE trigger_file SET run_id = ? WHERE id = ?", arguments: [runID, id])
        }
    }

    /// Files claimed whose run was never recorded: renkeid stopped between the claim and the run.
    /// At start-up, before watching, each should get its run (and `attachRun`), oldest first.
    public func triggerFilesWithoutRun() throws -> [TriggerFileRecord] {
        try pool.read { db in
            try TriggerFileRecord.fetchAll(db, sql: "SELECT * FROM trigger_file INDEXED BY trigger_file_without_run WHERE run_id IS NULL ORDER BY id")
        }
    }

    /// The files that started (or are starting) runs of `job`, oldest first.
    public func triggerFiles(job: String) throws -> [TriggerFileRecord] {
        try pool.read { db in
            try TriggerFileRecord.fetchAll(db, sql: "SELECT * FROM trigger_file WHERE job = ? ORDER BY id", arguments: [job])
        }
    }
}
