import Foundation
import GRDB
import Testing
@testable import RenkeiStore

/// Which failures are the store's, and what the operator reads.
@Suite struct StoreFailureTests {
    // MARK: - Classification

    @Test(arguments: [
        (ResultCode.SQLITE_FULL, Int32(0), StoreFailure.Kind.noSpace),
        (.SQLITE_IOERR_WRITE, ENOSPC, .noSpace),
        (.SQLITE_IOERR_WRITE, EDQUOT, .quota),
        (.SQLITE_IOERR_FSYNC, EIO, .ioError),
        (.SQLITE_IOERR_WRITE, EROFS, .readOnly),
        (.SQLITE_CANTOPEN, EACCES, .readOnly),
        (.SQLITE_READONLY, 0, .readOnly),
        (.SQLITE_BUSY, 0, .locked),
        (.SQLITE_CORRUPT, 0, .corrupt),
        (.SQLITE_NOTADB, 0, .corrupt),
    ])
    func storageErrorsAreClassified(code: ResultCode, errno: Int32, kind: StoreFailure.Kind) {
        let error = DatabaseError(resultCode: code, message: "from SQLite")
        let failure = StoreFailure.classifying(error, systemErrno: errno, path: "/var/lib/renkei/renkei.db")
        #expect(failure?.kind == kind)
        #expect(failure?.description.hasPrefix("the run store /var/lib/renkei/renkei.db cannot be written: ") == true)
    }

    @Test func aWritesOwnFailureIsNotTheStores() {
        #expect(StoreFailure.classifying(DatabaseError(resultCode: .SQLITE_CONSTRAINT_FOREIGNKEY), systemErrno: 0, path: "/x") == nil)
        #expect(StoreFailure.classifying(RunStoreError.noSuchRun(3), systemErrno: ENOSPC, path: "/x") == nil)
        // A stale errno from an earlier I/O error does not make a full disk a quota.
        #expect(StoreFailure.classifying(DatabaseError(resultCode: .SQLITE_FULL), systemErrno: EDQUOT, path: "/x")?.kind == .noSpace)
    }

    @Test func theOperatorMessageSaysWhatWhereAndWhatToDo() {
        let failure = StoreFailure(.noSpace, path: "/var/lib/renkei/renkei.db", detail: "database or disk is full")
        #expect(failure.description == "the run store /var/lib/renkei/renkei.db cannot be written: no space left on its file system (database or disk is full); free space there (df -h /var/lib/renkei) — writing resumes once there is room")
    }
}
