/// Whether the file a receive step waits for has arrived complete, decided look after look at the
/// source directory. Pure: the looks, the clocks and the search for writers are passed in.
///
/// Level-triggered: every verdict rests on the current look alone, plus — for `stable` — how long
/// the file has been seen unchanged. No event has to be caught for a file to be taken.
struct Arrival {
    enum Completion: Equatable {
        /// The sender writes a file matching this glob once the data file is complete.
        case doneFile(String)
        /// Size and modification time unchanged this many seconds, and nobody has it open for writing.
        case stable(Double)
    }

    let completion: Completion
    /// The data file last seen, and since when (monotonic seconds) it has not changed.
    private var settling: (file: SourceLook.File, since: Double)?

    init(completion: Completion) { self.completion = completion }

    enum Verdict: Equatable {
        case complete(SourceLook.File, doneFiles: [SourceLook.File])
        /// More than one file matches: these names.
        case ambiguous([String])
        /// Not yet; look again at the latest after this many seconds (nil: when something happens).
        case waiting(Waiting, lookAgainIn: Double?)
    }

    /// What is still missing, for the `late` message.
    enum Waiting: Equatable {
        case directoryMissing
        case directoryUnreadable(String)
        case nothing
        /// The data file is there, its done file is not.
        case noDoneFile(SourceLook.File)
        /// A done file is there, but no data file.
        case doneFileWithoutData([String])
        /// The data file is there, last changed this many seconds ago.
        case changing(SourceLook.File, quietFor: Double)
        case openForWriting(SourceLook.File, [OpenWriters.Writer])

        /// The file is there and only has to finish: worth waiting for even without `wait_until`.
        var fileIsBeingWritten: Bool {
            switch self {
            case .changing, .openForWriting: true
            default: false
            }
        }
    }

    /// `wallNow` (seconds since the epoch) dates the file's modification time; `monotonicNow`
    /// measures how long it has stayed unchanged, immune to clock steps.
    mutating func judge(_ look: SourceLook, wallNow: Double, monotonicNow: Double,
                        writers: (FileStatus) -> [OpenWriters.Writer]) -> Verdict {
        if look.data.count > 1 { return .ambiguous(look.data.map(\.name)) }
        switch look.directory {
        case .missing: settling = nil; return .waiting(.directoryMissing, lookAgainIn: nil)
        case .unreadable(let reason): settling = nil; return .waiting(.directoryUnreadable(reason), lookAgainIn: nil)
        case .listed: break
        }
        switch completion {
        case .doneFile:
            switch (look.data.first, look.done.isEmpty) {
            case (nil, true): return .waiting(.nothing, lookAgainIn: nil)
            case (nil, false): return .waiting(.doneFileWithoutData(look.done.map(\.name)), lookAgainIn: nil)
            case (let file?, true): return .waiting(.noDoneFile(file), lookAgainIn: nil)
            case (let file?, false): return .complete(file, doneFiles: look.done)
            }
        case .stable(let seconds):
            guard let file = look.data.first else {
                settling = nil
                return .waiting(.nothing, lookAgainIn: nil)
            }
            let since: Double
            if let earlier = settling, file.status.isUnchanged(since: earlier.file.status) {
                since = earlier.since
            } else if let earlier = settling, file.status.isSameFile(as: earlier.file.status) {
                since = monotonicNow // seen changing: it counts from now, whatever its mtime says
            } else {
                // First sight: its modification time says how long it has been quiet already, so a
                // file written days ago (a rerun) is taken at once.
                since = monotonicNow - max(0, wallNow - file.status.modifiedAt)
            }
            settling = (file, since)
            let quiet = monotonicNow - since
            if quiet < seconds { return .waiting(.changing(file, quietFor: quiet), lookAgainIn: seconds - quiet) }
            let open = writers(file.status)
            if !open.isEmpty { return .waiting(.openForWriting(file, open), lookAgainIn: nil) }
            return .complete(file, doneFiles: [])
        }
    }
}
