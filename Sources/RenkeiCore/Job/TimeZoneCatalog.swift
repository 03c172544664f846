/// Which time-zone names a job may use: the names of the system's tz database
/// (`/usr/share/zoneinfo`: `Asia/Tokyo`, `UTC`), which is where systemd reads them too.
public enum TimeZoneCatalog {
    public static func isKnown(_ identifier: String) -> Bool {
        ZoneRules.named(identifier) != nil
    }

    /// The machine's zone: `$TZ` if it names one, else where `/etc/localtime` points, else UTC.
    public static func machineZone(environment: [String: String], localtimeLink: String?) -> String {
        if var tz = environment["TZ"], !tz.isEmpty {
            if tz.hasPrefix(":") { tz.removeFirst() }
            if isKnown(tz) { return tz }
        }
        if let link = localtimeLink, let range = link.range(of: "zoneinfo/") {
            let name = String(link[range.upperBound...])
            if isKnown(name) { return name }
        }
        return "UTC"
    }
}
