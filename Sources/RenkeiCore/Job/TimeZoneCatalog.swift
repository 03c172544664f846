import Foundation

/// Which time-zone names a job may use: the IANA names the tz database knows (`Asia/Tokyo`, `UTC`),
/// not abbreviations such as `JST`, whose meaning depends on who reads them.
public enum TimeZoneCatalog {
    public static func isKnown(_ identifier: String) -> Bool {
        guard !identifier.isEmpty, TimeZone(identifier: identifier) != nil else { return false }
        return TimeZone.knownTimeZoneIdentifiers.contains(identifier) || identifier == "UTC" || identifier == "Etc/UTC"
    }
}
