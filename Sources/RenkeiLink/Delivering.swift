import Glibc
import RenkeiCore

/// `deliver:` — hands a file over to a target directory under its final name, whole or not at
/// all: the content is written into a file nobody sees (`PendingFile`), flushed to disk, and only
/// then given the name in one rename. Neither a full disk nor a kill -9 at any moment can leave a
/// partial file under the final name.
struct Delivering {
    let request: LinkRequest
    let deliver: LinkRequest.Deliver
    let say: (String) -> Void

    var directory: String { deliver.directory }
    var target: String { FileSystem.join(deliver.directory, deliver.name) }

    func perform() -> LinkResult {
        do throws(StepFailure) {
            return try deliverFile()
        } catch {
            return LinkResult(failure: error.result)
        }
    }

    private func deliverFile() throws(StepFailure) -> LinkResult {
        try checkDirectory()
        let source = try openSource()
        // No need to copy anything to learn that the name is taken (unless a receipt may make it
        // "already delivered"); the placement below checks again, atomically.
        if deliver.ifExists == .fail && !request.receipts.contains(where: { $0.path == target }) && FileSystem.exists(target) {
            throw .exit(existsMessage())
        }

        let cleanup = LeftoverTemporaries.remove(in: directory)
        if !cleanup.removed.isEmpty {
            say("removed \(cleanup.removed.count) temporary file(s) that killed deliveries left in \(directory): \(cleanup.removed.joined(separator: ", "))")
        }
        for (name, reason) in cleanup.kept {
            say("left the temporary file \(name) in \(directory): \(reason)")
        }

        let (pending, copied) = try write(source.file, size: source.size)
        // From here on every way out that does not place the file discards it.
        var placed = false
        defer { if !placed { pending.discard() } }

        // What this job delivered for this date decides before anything in the target directory changes.
        let now = Now.wall
        let earlier = request.receipts.filter { $0.path == target }.sorted { $0.at < $1.at }
        if let same = earlier.last(where: { $0.sha256 == copied.sha256 }) {
            let note = "already delivered by run \(same.runID) at \(OperatorText.clock(same.at, now: now))"
            say("\(deliver.name): \(note) with the same content (sha256 \(OperatorText.digest(copied.sha256))); nothing written")
            return LinkResult(files: [delivered(copied, outcome: .alreadyDelivered, note: note)])
        }
        if let other = earlier.last {
            let before = "by run \(other.runID) at \(OperatorText.clock(other.at, now: now))"
            if !request.force {
                let failure = StepFailure(errorClass: .duplicate, message: "\(deliver.name) was already delivered to \(directory) for \(request.logicalDate) \(before) with different content (sha256 \(OperatorText.digest(other.sha256)), now \(OperatorText.digest(copied.sha256))); a rerun may replace it only with --force and a reason")
                return LinkResult(files: [delivered(copied, outcome: .refused, note: "different content was delivered \(before)")], failure: failure.result)
            }
            say("replacing what was delivered \(before) (sha256 \(OperatorText.digest(other.sha256))): this rerun was forced")
        }

        var note: String?
        do throws(SystemError) {
            switch deliver.ifExists {
            case .fail:
                try pending.place(replacing: false)
            case .replace:
                try pending.place(replacing: true)
            case .keep:
                note = try Generations.rotate(deliver.name, in: directory, keeping: deliver.generations).map { "kept the previous one as \($0)" }
                try pending.place(replacing: true)
            }
            placed = true
            try FileSystem.syncDirectory(directory)
        } catch {
            if !placed && deliver.ifExists == .fail && error.code == EEXIST { throw .exit(existsMessage()) }
            throw error.isStorageProblem ? .writing(error, name: deliver.name, into: directory) : .exit("\(error)")
        }
        pending.file.close()

        if let doneName = deliver.doneFileName { try writeDoneFile(doneName) }
        say("delivered \(deliver.name) to \(directory): \(OperatorText.bytes(copied.bytes)), sha256 \(OperatorText.digest(copied.sha256))"
            + (note.map { "; \($0)" } ?? "") + (deliver.doneFileName.map { "; done file \($0) written" } ?? ""))
        return LinkResult(files: [delivered(copied, outcome: .delivered, note: note)])
    }

    private func checkDirectory() throws(StepFailure) {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileSystem.status(of: directory)
        } catch {
            if error.code == ENOENT {
                throw .exit("target directory \(directory) does not exist: the team that runs the target system must create it (Renkei never creates a target directory)")
            }
            throw .exit("cannot reach the target directory \(directory): \(error.reason)")
        }
        guard status.isDirectory else {
            throw .exit("the target \(directory) is not a directory: the team that runs the target system must make it one (Renkei never creates a target directory)")
        }
    }

    private func openSource() throws(StepFailure) -> (file: OpenFile, size: Int64) {
        let file: OpenFile
        let status: FileStatus
        do throws(SystemError) {
            file = try OpenFile.open(deliver.source, O_RDONLY)
            status = try file.status()
        } catch {
            if error.code == ENOENT {
                throw .exit("the file to deliver, \(deliver.source), does not exist: the step that should have written it did not; look at the earlier steps' output, then rerun")
            }
            throw .exit("\(error)")
        }
        guard status.isRegularFile else { throw .exit("the file to deliver, \(deliver.source), is not a regular file") }
        return (file, status.size)
    }

    /// The source's content in a pending file in the target directory: copied, hashed, given its
    /// mode and flushed to disk.
    private func write(_ source: OpenFile, size: Int64) throws(StepFailure) -> (PendingFile, DigestingCopy.Copied) {
        let pending: PendingFile
        do throws(SystemError) {
            pending = try PendingFile.create(in: directory, for: deliver.name)
        } catch {
            if error.isStorageProblem { throw .writing(error, name: deliver.name, into: directory, written: 0, of: size) }
            throw .exit("\(error); Renkei's user needs write access to \(directory)")
        }
        do throws(DigestingCopy.Failure) {
            let copied = try DigestingCopy.copy(from: source, to: pending.file)
            guard fchmod(pending.file.descriptor, mode_t(deliver.mode)) == 0 else {
                throw .writing(.last("set the permissions of", pending.finalPath), written: copied.bytes)
            }
            do throws(SystemError) { try pending.file.sync() } catch { throw .writing(error, written: copied.bytes) }
            return (pending, copied)
        } catch {
            pending.discard()
            switch error {
            case .reading(let error): throw .exit("\(error); nothing was delivered")
            case .writing(let error, let written): throw .writing(error, name: deliver.name, into: directory, written: written, of: size)
            }
        }
    }

    private func existsMessage() -> String {
        var detail = ""
        if let status = try? FileSystem.statusOfName(target) {
            detail = " (\(OperatorText.bytes(status.size)), changed at \(OperatorText.clock(status.modifiedAt, now: Now.wall)))"
        }
        return "\(deliver.name) already exists in \(directory) (if_exists: fail): the target system has not taken the previous one\(detail) yet. Once it has (or with if_exists: replace or keep in the job file), rerun"
    }

    /// The done file, after the data file is in place: empty, same mode, placed the same atomic way.
    private func writeDoneFile(_ name: String) throws(StepFailure) {
        do throws(SystemError) {
            let done = try PendingFile.create(in: directory, for: name)
            do throws(SystemError) {
                guard fchmod(done.file.descriptor, mode_t(deliver.mode)) == 0 else { throw .last("set the permissions of", done.finalPath) }
                try done.file.sync()
                try done.place(replacing: true)
            } catch {
                done.discard()
                throw error
            }
            done.file.close()
            try FileSystem.syncDirectory(directory)
        } catch {
            let state = "\(deliver.name) is in place, but its done file \(name) is not"
            if error.isStorageProblem { throw .exit("\(StepFailure.writing(error, name: name, into: directory).message) (\(state))") }
            throw .exit("\(error): \(state); rerun once it can be written")
        }
    }

    private func delivered(_ copied: DigestingCopy.Copied, outcome: LinkFile.Outcome, note: String?) -> LinkFile {
        LinkFile(direction: .delivered, path: target, source: deliver.source, bytes: copied.bytes, sha256: copied.sha256, outcome: outcome, note: note)
    }
}
