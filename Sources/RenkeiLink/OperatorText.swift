import Glibc

/// How link steps write numbers, hashes and times for the operator.
enum OperatorText {
    /// `1,234,567 bytes`.
    static func bytes(_ count: Int64) -> String {
        let digits = Array(String(count.magnitude))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return (count < 0 ? "-" : "") + text + (count == 1 ? " byte" : " bytes")
    }

    /// `12 MB`, `1.5 GB`, `800 bytes`: sizes in a disk-full message, where round figures read best.
    static func size(_ count: Int64) -> String {
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        for (scale, unit) in units where Double(count) >= scale {
            let value = Double(count) / scale
            let rounded = value >= 10 ? (value).rounded() : (value * 10).rounded() / 10
            let text = rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
            return "\(text) \(unit)"
        }
        return bytes(count)
    }

    /// The first 12 hex digits and an ellipsis: enough to tell files apart in a message.
    static func digest(_ sha256: String) -> String { String(sha256.prefix(12)) + "…" }

    /// `06:31` when `time` falls on the day of `now`, else `2026-11-30 06:31`, in the local zone.
    static func clock(_ time: Double, now: Double) -> String {
        let moment = local(time), today = local(now)
        let hourMinute = pad(moment.tm_hour) + ":" + pad(moment.tm_min)
        if moment.tm_year == today.tm_year && moment.tm_yday == today.tm_yday { return hourMinute }
        return "\(moment.tm_year + 1900)-\(pad(moment.tm_mon + 1))-\(pad(moment.tm_mday)) \(hourMinute)"
    }

    /// `0.4 s`, `12 s`, `3 min`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return "\((seconds * 10).rounded() / 10) s" }
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        return "\(Int((seconds / 60).rounded())) min"
    }

    /// `A, B and C`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }

    private static func local(_ time: Double) -> tm {
        var seconds = time_t(time.rounded(.down))
        var broken = tm()
        localtime_r(&seconds, &broken)
        return broken
    }

    private static func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
