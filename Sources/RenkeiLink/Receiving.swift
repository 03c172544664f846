import Glibc
import RenkeiCore

/// `receive:` — waits until exactly one file matching the pattern is complete in the source
/// directory, copies it into `<work>/in/NAME` (hashing it on the way), refuses content this job
/// already received for another date, and with `take: move` removes the source once the copy is
/// safely on disk. On any failure the source stays as it was.
struct Receiving {
    let request: LinkRequest
    let receive: LinkRequest.Receive
    let say: (String) -> Void

    /// Files in the work directory hold residents' data: the owner and the group read them.
    static let fileMode: mode_t = 0o640
    static let inboxMode: mode_t = 0o750
    /// However quiet the directory, look again this often: file systems such as NFS send no
    /// events, and a queue overflow drops them.
    static let longestWait = 1.0

    var directory: String { receive.directory }
    var inbox: String { FileSystem.join(request.workDirectory, "in") }

    func perform() -> LinkResult {
        // Without a wait_until, or with one already past when the step starts (a rerun days later),
        // a file that is not there is late at once; one that is there is still waited for until complete.
        let waitsForArrival = receive.waitUntil.map { $0 > Now.wall } ?? false
        do throws(StepFailure) {
            while true {
                let (file, doneFiles) = try awaitArrival(waitsForArrival: waitsForArrival)
                if let result = try take(file, doneFiles: doneFiles) { return result }
                // The file was replaced or removed between the look and the copy: look again.
            }
        } catch {
            return LinkResult(failure: error.result)
        }
    }

    // MARK: Waiting

    private func awaitArrival(waitsForArrival: Bool) throws(StepFailure) -> (SourceLook.File, [SourceLook.File]) {
        var arrival = Arrival(completion: receive.doneFilePattern.map { .doneFile($0) } ?? .stable(receive.stableForSeconds ?? 0))
        // Watching starts before the first look, so nothing can happen unseen in between.
        let watch = DirectoryWatch(directory)
        var saidWaiting = false
        while true {
            let look = SourceLook.take(of: directory, pattern: receive.pattern, donePattern: receive.doneFilePattern)
            let verdict = arrival.judge(look, wallNow: Now.wall, monotonicNow: Now.monotonic, writers: OpenWriters.of)
            switch verdict {
            case .complete(let file, let doneFiles):
                return (file, doneFiles)
            case .ambiguous(let names):
                throw .exit("\(names.count) files match \(receive.pattern) in \(directory): \(names.joined(separator: ", ")) — exactly one must; remove the wrong ones and rerun")
            case .waiting(let missing, let lookAgainIn):
                let now = Now.wall
                if !waitsForArrival && !missing.fileIsBeingWritten {
                    throw .late(lateMessage(missing, startedAfterLimit: receive.waitUntil != nil))
                }
                if waitsForArrival, let limit = receive.waitUntil, now >= limit {
                    throw .late(lateMessage(missing, startedAfterLimit: false))
                }
                if !saidWaiting {
                    say(waitingMessage(missing))
                    saidWaiting = true
                }
                var seconds = min(Self.longestWait, lookAgainIn ?? Self.longestWait)
                if waitsForArrival, let limit = receive.waitUntil { seconds = min(seconds, limit - now) }
                watch.wait(seconds: seconds)
            }
        }
    }

    private var completionText: String {
        if let done = receive.doneFilePattern { return "complete once a done file matching \(done) is there" }
        return "complete once unchanged for \(OperatorText.duration(receive.stableForSeconds ?? 0)) and closed by its writer"
    }

    private func waitingMessage(_ missing: Arrival.Waiting) -> String {
        let until = receive.waitUntil.map { limit in " until " + (receive.waitUntilText ?? OperatorText.clock(limit, now: Now.wall)) } ?? ""
        if missing.fileIsBeingWritten {
            return "waiting\(until) for \(receive.pattern) in \(directory) to be written completely (\(completionText))"
        }
        return "waiting\(until) for \(receive.pattern) in \(directory) (\(completionText))"
    }

    private func lateMessage(_ missing: Arrival.Waiting, startedAfterLimit: Bool) -> String {
        let head: String
        if let limit = receive.waitUntil {
            let by = receive.waitUntilText ?? OperatorText.clock(limit, now: Now.wall)
            head = "\(receive.pattern) did not arrive in \(directory) by \(by)" + (startedAfterLimit ? " (already past when the step started)" : "")
        } else {
            head = "\(receive.pattern) is not in \(directory), and the step does not wait for it (it has no wait_until)"
        }
        let rerun = "once it is there complete, rerun"
        switch missing {
        case .directoryMissing:
            return "\(head): the directory \(directory) does not exist (not created yet, or not mounted); check the share, and \(rerun)"
        case .directoryUnreadable(let reason):
            return "\(head): the directory \(directory) cannot be read (\(reason)); give Renkei's user access, and \(rerun)"
        case .nothing:
            return "\(head): no file matching it is there; ask the sending side whether it has run, and \(rerun)"
        case .noDoneFile(let file):
            return "\(head): \(file.name) is there (\(OperatorText.bytes(file.status.size))) but no done file matching \(receive.doneFilePattern ?? "") yet, so it may be incomplete; \(rerun)"
        case .doneFileWithoutData(let names):
            return "\(head): the done file \(OperatorText.list(names)) is there, but no file matching \(receive.pattern); ask the sending side, and \(rerun)"
        case .changing(let file, let quiet):
            return "\(head): \(file.name) is there (\(OperatorText.bytes(file.status.size))) but was still being written (last changed \(OperatorText.duration(quiet)) before); \(rerun)"
        case .openForWriting(let file, let writers):
            let who = (writers.count == 1 ? "process " : "processes ") + OperatorText.list(writers.map { "\($0.pid) (\($0.command))" })
            let has = writers.count == 1 ? "has" : "have"
            return "\(head): \(file.name) is there (\(OperatorText.bytes(file.status.size))) but \(who) still \(has) it open for writing; \(rerun)"
        }
    }

    // MARK: Taking

    /// Copies the arrived file in; nil when it is no longer the file that was judged complete.
    private func take(_ arrived: SourceLook.File, doneFiles: [SourceLook.File]) throws(StepFailure) -> LinkResult? {
        let sourcePath = FileSystem.join(directory, arrived.name)
        let source: OpenFile
        do throws(SystemError) {
            // O_NONBLOCK: should a FIFO have taken the name since the look, the open must not hang
            // (the identity check below then sends the step back to looking).
            source = try OpenFile.open(sourcePath, O_RDONLY | O_NONBLOCK)
        } catch {
            if error.code == ENOENT { return nil }
            throw .exit("\(error); give Renkei's user read access, and rerun")
        }
        let before: FileStatus
        do throws(SystemError) { before = try source.status() } catch { throw .exit("\(error)") }
        guard before.isUnchanged(since: arrived.status) else { return nil }

        do throws(SystemError) { try FileSystem.makeDirectory(inbox, mode: Self.inboxMode) } catch { throw .exit("\(error)") }
        // What a killed receive left here (a hidden name between link and rename) goes first.
        _ = LeftoverTemporaries.remove(in: inbox)
        let copy: PendingFile
        do throws(SystemError) {
            copy = try PendingFile.create(in: inbox, for: arrived.name)
        } catch {
            throw error.isStorageProblem ? .writing(error, name: arrived.name, into: inbox) : .exit("\(error)")
        }
        // From here on every way out that does not place the copy discards it.
        var placed = false
        defer { if !placed { copy.discard() } }

        let copied: DigestingCopy.Copied
        do throws(DigestingCopy.Failure) {
            copied = try DigestingCopy.copy(from: source, to: copy.file)
        } catch {
            switch error {
            case .reading(let error): throw .exit("\(error); the source stays as it is; rerun once it can be read")
            case .writing(let error, let written):
                throw .writing(error, name: arrived.name, into: inbox, written: written, of: before.size)
            }
        }
        let after = (try? source.status()) ?? before
        guard after.isUnchanged(since: before), copied.bytes == after.size else {
            throw .exit("\(arrived.name) in \(directory) changed while it was being copied (\(OperatorText.bytes(before.size)) before, \(OperatorText.bytes(after.size)) after): the sender is still writing it. The copy was dropped and the source left as it is; rerun once the sender has finished (a done file, complete_when: done_file, makes that certain)")
        }
        guard fchmod(copy.file.descriptor, Self.fileMode) == 0 else { throw .exit("\(SystemError.last("set the permissions of", copy.finalPath))") }
        do throws(SystemError) { try copy.file.sync() } catch {
            throw error.isStorageProblem ? .writing(error, name: arrived.name, into: inbox, written: copied.bytes, of: copied.bytes) : .exit("\(error)")
        }

        var outcome = LinkFile.Outcome.received
        var note: String?
        if let earlier = request.receipts.first(where: { $0.sha256 == copied.sha256 && $0.logicalDate != request.logicalDate }) {
            let same = "identical to what run \(earlier.runID) received for \(earlier.logicalDate) (sha256 \(OperatorText.digest(copied.sha256)))"
            switch receive.onDuplicate {
            case .fail:
                let refused = LinkFile(direction: .received, path: copy.finalPath, source: sourcePath, bytes: copied.bytes, sha256: copied.sha256,
                                       modifiedAt: before.modifiedAt, outcome: .duplicate, note: "content \(same)")
                let failure = StepFailure(errorClass: .duplicate,
                                          message: "the content of \(arrived.name) is \(same); if it really is new data, rerun with on_duplicate: accept")
                return LinkResult(files: [refused], failure: failure.result)
            case .accept:
                outcome = .receivedDuplicate
                note = "the same content as run \(earlier.runID) received for \(earlier.logicalDate) (on_duplicate: accept)"
            }
        }

        do throws(SystemError) {
            try copy.place(replacing: true)
            placed = true
            try FileSystem.syncDirectory(inbox)
        } catch {
            throw error.isStorageProblem ? .writing(error, name: arrived.name, into: inbox) : .exit("\(error)")
        }
        copy.file.close()
        let received = LinkFile(direction: .received, path: copy.finalPath, source: sourcePath, bytes: copied.bytes, sha256: copied.sha256,
                                modifiedAt: before.modifiedAt, outcome: outcome, note: note)
        say("received \(arrived.name) from \(directory): \(OperatorText.bytes(copied.bytes)), sha256 \(OperatorText.digest(copied.sha256))" + (note.map { " — \($0)" } ?? ""))

        guard receive.take == .move else { return LinkResult(files: [received]) }
        do throws(SystemError) {
            try FileSystem.remove(sourcePath)
            for done in doneFiles { try FileSystem.remove(FileSystem.join(directory, done.name)) }
            try FileSystem.syncDirectory(directory)
        } catch {
            let failure = StepFailure.exit("\(arrived.name) was copied into the work directory, but \(error) (take: move); the next run would take it again: remove it from \(directory) by hand, or give Renkei's user write access there")
            return LinkResult(files: [received], failure: failure.result)
        }
        say("removed \(([arrived.name] + doneFiles.map(\.name)).joined(separator: ", ")) from \(directory) (take: move)")
        return LinkResult(files: [received])
    }
}
