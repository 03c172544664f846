import Foundation

/// Gives back the pages of renkeid's own code and constant data that only start-up used (YAML,
/// migrations, the job catalog): once READY, they are unmapped with `MADV_PAGEOUT`; they stay in
/// the page cache, and a page needed again is mapped back on its next use (a minor fault). The
/// Swift runtime and Foundation are linked statically, so most of an idle daemon's resident
/// memory is such pages, mapped at start-up in 64 KiB runs around each one touched.
enum StartupPages {
    /// `MADV_PAGEOUT` (Linux 5.4); older kernels refuse it, and nothing changes.
    static let pageOut: Int32 = 21

    static func release() {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Read-only mappings of the executable only: code and constants, never writable data.
            guard fields.count >= 6, String(fields[5]) == executable, !fields[1].contains("w") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard bounds.count == 2, let start = UnsafeMutableRawPointer(bitPattern: bounds[0]) else { continue }
            _ = madvise(start, Int(bounds[1] - bounds[0]), pageOut)
        }
    }
}
