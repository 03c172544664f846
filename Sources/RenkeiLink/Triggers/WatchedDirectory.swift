import Glibc
import RenkeiCore

/// One directory the watcher looks at, and what it knows of the files there for each trigger on
/// it. Touched by the watcher's thread only.
final class WatchedDirectory {
    let path: String
    /// The inotify watch; nil while the directory is missing or cannot be watched (tried again).
    var watch: Int32?
    /// The triggers on this directory, one per job.
    var entries: [TriggerEntry]

    init(path: String, entries: [TriggerEntry]) {
        self.path = path
        self.entries = entries
    }

    /// Whether any trigger here cares about a file of this name (as data or as done file): other
    /// names (a sender's hidden temporary file, unrelated files) cost no work at all.
    func caresAbout(_ name: String) -> Bool {
        entries.contains { $0.isDoneFile(name) || $0.watch.trigger.matches(name) }
    }
}

/// One job's trigger on a directory: its files waiting to be complete, and the done files there.
/// A class: its tables grow with the files in the directory, and are changed in place.
final class TriggerEntry {
    let watch: TriggerWatch
    /// `.stable` or `.doneFile`, as `receive` judges.
    let completion: Arrival.Completion
    /// The done-file pattern with every `{date:…}` as `*`: which names are done files at all.
    let doneGlob: String?
    /// The done-file pattern, for filling in a file's date.
    private let donePattern: FilePattern?
    /// The done-file pattern with its `{date:…}` read as `date_from_name` reads a name, so the date
    /// a done file is for comes from its name in one step.
    private let doneDates: FileTrigger?

    /// Done files present (as last seen), by name.
    var doneNames: Set<String> = []
    /// Data files complete but for their done file, by the date whose done file they wait for.
    var waitingForDone: [JapaneseHolidays.Day: Set<String>] = [:]
    /// Files matching `trigger.file` that were looked at and not handed over yet, or handed and
    /// still there; by name.
    var candidates: [String: Candidate] = [:]
    /// The done-file name (or glob) for each date asked for so far.
    private var filledDone: [JapaneseHolidays.Day: String] = [:]

    struct Candidate {
        var arrival: Arrival
        /// The date whose done file it waits for, while it waits for one.
        var waitingDay: JapaneseHolidays.Day?
    }

    init(_ watch: TriggerWatch) {
        self.watch = watch
        switch watch.trigger.completeWhen {
        case .doneFile(let pattern):
            completion = .doneFile(pattern)
            donePattern = try? FilePattern(pattern)
            doneGlob = Self.anyDate(pattern)
            doneDates = FileTrigger(path: watch.trigger.path, file: "*", dateFromName: pattern, completeWhen: watch.trigger.completeWhen)
        case .stable(let duration):
            completion = .stable(Double(duration.seconds))
            donePattern = nil
            doneGlob = nil
            doneDates = nil
        }
    }

    func isDoneFile(_ name: String) -> Bool { doneGlob.map { Glob.matches($0, name) } ?? false }

    /// `{date:…}` placeholders as `*`: the names a done file may have, whatever its date.
    static func anyDate(_ pattern: String) -> String {
        var glob = ""
        var inside = false
        for character in pattern {
            switch character {
            case "{": inside = true; glob.append("*")
            case "}": inside = false
            default: if !inside { glob.append(character) }
            }
        }
        return glob
    }

    /// The done file's name (a glob when the pattern has wildcards) for data of `day`.
    func doneName(for day: JapaneseHolidays.Day) -> String? {
        guard let donePattern else { return nil }
        if let known = filledDone[day] { return known }
        guard let midnight = try? LogicalTime.parse(day.description, zoneIdentifier: "UTC") else { return nil }
        let name = donePattern.filled(for: midnight)
        filledDone[day] = name
        return name
    }

    /// The present done files that complete data of `day`: at most one is needed.
    func doneFile(for day: JapaneseHolidays.Day) -> String? {
        guard let name = doneName(for: day) else { return nil }
        if !FilePattern.hasWildcards(name) { return doneNames.contains(name) ? name : nil }
        return doneNames.first { Glob.matches(name, $0) }
    }

    /// The data files a done file of this name completes, taken off the waiting list.
    func takeWaiting(completedBy doneFile: String) -> [String] {
        if let day = doneDates?.date(fromName: doneFile) {
            guard let name = doneName(for: day), Glob.matches(name, doneFile) else { return [] }
            return Array(waitingForDone.removeValue(forKey: day) ?? [])
        }
        var woken: [String] = []
        for day in Array(waitingForDone.keys) {
            guard let name = doneName(for: day), Glob.matches(name, doneFile) else { continue }
            woken += waitingForDone.removeValue(forKey: day) ?? []
        }
        return woken
    }

    /// Forgets that `name` waits for a done file.
    func stopWaiting(_ name: String) {
        guard let day = candidates[name]?.waitingDay else { return }
        candidates[name]?.waitingDay = nil
        waitingForDone[day]?.remove(name)
        if waitingForDone[day]?.isEmpty == true { waitingForDone[day] = nil }
    }

    func wait(_ name: String, forDoneFileOf day: JapaneseHolidays.Day) {
        if candidates[name]?.waitingDay == day { return }
        stopWaiting(name)
        candidates[name]?.waitingDay = day
        waitingForDone[day, default: []].insert(name)
    }
}
