import Glibc

/// `if_exists: keep`: before a new file takes the name, the one there becomes `NAME.1`, `NAME.1`
/// becomes `NAME.2`, and so on up to `NAME.<generations>`; the oldest beyond that is dropped (the
/// rename over it removes it).
///
/// The file under `NAME` is hard-linked to `NAME.1` rather than moved, so `NAME` never goes
/// missing for a reader: the new file replaces it in one rename afterwards. A kill in between
/// leaves every file whole, at worst with one generation shifted twice.
enum Generations {
    /// Returns the name the previous file is kept under, or nil when there was none (or none are kept).
    static func rotate(_ name: String, in directory: String, keeping generations: Int) throws(SystemError) -> String? {
        let current = FileSystem.join(directory, name)
        guard generations > 0, FileSystem.exists(current) else { return nil }
        func generation(_ number: Int) -> String { FileSystem.join(directory, "\(name).\(number)") }
        for number in stride(from: generations - 1, through: 1, by: -1) {
            do throws(SystemError) {
                try FileSystem.rename(generation(number), to: generation(number + 1))
            } catch where error.code == ENOENT {
                // A gap in the generations: nothing to move up.
            }
        }
        let first = generation(1)
        // With one generation, NAME.1 was not moved up: the previous NAME.1 is the one dropped.
        if FileSystem.exists(first) { try FileSystem.remove(first) }
        do throws(SystemError) {
            try FileSystem.link(current, to: first)
        } catch where error.code == EPERM || error.code == EOPNOTSUPP || error.code == EMLINK {
            // No hard links here (some network and FAT file systems): move it, and NAME is
            // missing until the new file takes its place.
            try FileSystem.rename(current, to: first)
        }
        return "\(name).1"
    }
}
