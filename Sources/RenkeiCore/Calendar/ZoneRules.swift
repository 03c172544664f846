import Synchronization
import Foundation

/// A time zone's offsets from UTC over time, read from the system's tz database
/// (`/usr/share/zoneinfo`, TZif) the way the C library reads it, so that Renkei and systemd agree
/// about every daylight-saving change. Times past the file's last transition follow its POSIX
/// TZ footer (`CET-1CEST,M3.5.0,M10.5.0/3`).
public final class ZoneRules: Sendable {
    /// The IANA name (`Asia/Tokyo`).
    public let identifier: String
    /// UTC seconds at which `types[transitionTypes[i]]` starts.
    let transitions: [Int64]
    let transitionTypes: [Int]
    let types: [LocalTimeType]
    /// The rule for times after the last transition.
    let footer: PosixZoneRule?

    struct LocalTimeType: Sendable, Equatable {
        /// Seconds east of UTC.
        let offset: Int64
        let isDST: Bool
    }

    init(identifier: String, transitions: [Int64], transitionTypes: [Int], types: [LocalTimeType], footer: PosixZoneRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.transitionTypes = transitionTypes
        self.types = types
        self.footer = footer
    }

    public static let utc = ZoneRules(identifier: "UTC", transitions: [], transitionTypes: [], types: [LocalTimeType(offset: 0, isDST: false)], footer: nil)

    /// The offset and DST flag in force at UTC second `t`.
    func localTimeType(at t: Int64) -> LocalTimeType {
        if let last = transitions.last, t >= last, let footer {
            return footer.localTimeType(at: t)
        }
        // The last transition at or before t (binary search).
        var low = 0, high = transitions.count
        while low < high {
            let mid = (low + high) / 2
            if transitions[mid] <= t { low = mid + 1 } else { high = mid }
        }
        if low == 0 {
            if let footer, transitions.isEmpty { return footer.localTimeType(at: t) }
            return types.first { !$0.isDST } ?? types[0]
        }
        return types[transitionTypes[low - 1]]
    }

    /// Seconds east of UTC at UTC second `t`.
    public func offset(at t: Int64) -> Int64 { localTimeType(at: t).offset }

    // MARK: - Loading

    /// Where zone files are read from; tests may point it elsewhere.
    public static let directory = "/usr/share/zoneinfo"

    private static let cache = ZoneCache()

    /// The rules for `identifier`, or nil when the tz database has no such zone. Names are the
    /// database's file names: `Asia/Tokyo`, `UTC`, `Europe/Berlin`; nothing outside it is read.
    public static func named(_ identifier: String) -> ZoneRules? {
        if identifier == "UTC" || identifier == "Etc/UTC" { return .utc }
        guard isPlausibleName(identifier) else { return nil }
        return cache.rules(for: identifier) {
            guard let data = FileManager.default.contents(atPath: directory + "/" + identifier) else { return nil }
            return TZifReader.read(identifier: identifier, bytes: [UInt8](data))
        }
    }

    /// Rejects names that are not plain paths inside the database (`../etc/passwd`, `/x`).
    static func isPlausibleName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains(".."), !name.contains("//") else { return false }
        return name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || "/_-+".unicodeScalars.contains($0) }
    }
}

/// Loaded zones, by name; a zone file is read once per process.
private final class ZoneCache: Sendable {
    private let zones = Mutex<[String: ZoneRules?]>([:])

    func rules(for name: String, load: () -> ZoneRules?) -> ZoneRules? {
        zones.withLock { zones in
            if let cached = zones[name] { return cached }
            let loaded = load()
            zones[name] = loaded
            return loaded
        }
    }
}

/// Reads the TZif format (RFC 8536), version 2 or later, 64-bit section.
enum TZifReader {
    static func read(identifier: String, bytes: [UInt8]) -> ZoneRules? {
        guard bytes.count >= 44, bytes.starts(with: Array("TZif".utf8)) else { return nil }
        let version = bytes[4]
        func int32(_ at: Int) -> Int64 {
            Int64(Int32(bitPattern: UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])))
        }
        func int64(_ at: Int) -> Int64 {
            var value: UInt64 = 0
            for index in at..<(at + 8) { value = value << 8 | UInt64(bytes[index]) }
            return Int64(bitPattern: value)
        }
        func counts(_ at: Int) -> (isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int) {
            (Int(int32(at + 20)), Int(int32(at + 24)), Int(int32(at + 28)), Int(int32(at + 32)), Int(int32(at + 36)), Int(int32(at + 40)))
        }
        var header = 0
        var c = counts(header)
        var timeSize = 4
        if version >= UInt8(ascii: "2") {
            // Skip the 32-bit body to the 64-bit header.
            header = 44 + c.time * 4 + c.time + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut
            guard bytes.count >= header + 44 else { return nil }
            c = counts(header)
            timeSize = 8
        }
        var at = header + 44
        let bodyEnd = at + c.time * timeSize + c.time + c.type * 6 + c.char + c.leap * (timeSize + 4) + c.isstd + c.isut
        guard bytes.count >= bodyEnd, c.type > 0 else { return nil }
        var transitions: [Int64] = []
        for _ in 0..<c.time {
            transitions.append(timeSize == 8 ? int64(at) : int32(at))
            at += timeSize
        }
        var transitionTypes: [Int] = []
        for _ in 0..<c.time {
            transitionTypes.append(Int(bytes[at]))
            at += 1
        }
        var types: [ZoneRules.LocalTimeType] = []
        for _ in 0..<c.type {
            types.append(.init(offset: int32(at), isDST: bytes[at + 4] != 0))
            at += 6
        }
        guard transitionTypes.allSatisfy({ $0 < types.count }) else { return nil }
        var footer: PosixZoneRule?
        if version >= UInt8(ascii: "2"), bodyEnd < bytes.count, bytes[bodyEnd] == UInt8(ascii: "\n") {
            let rest = bytes[(bodyEnd + 1)...]
            if let end = rest.firstIndex(of: UInt8(ascii: "\n")) {
                footer = PosixZoneRule.parse(String(decoding: bytes[(bodyEnd + 1)..<end], as: UTF8.self))
            }
        }
        return ZoneRules(identifier: identifier, transitions: transitions, transitionTypes: transitionTypes, types: types, footer: footer)
    }
}
