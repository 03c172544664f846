import Yams

/// `notify:` of a job file (`{ to: […], on: […] }`), and the readers `renkei.yaml`'s `notify:`
/// shares with it: mail addresses and event names.
extension JobFileParser {
    static let jobNotifyKeys = ["to", "on"]

    mutating func readJobNotify(_ node: Node) -> JobNotify? {
        guard case .mapping(let mapping) = node else {
            report(node, "'notify' must be a mapping such as { to: [fukushi-team@city.example], on: [failed, recovered] }, found \(kind(of: node))")
            return nil
        }
        let fields = readMapping(mapping, allowed: Self.jobNotifyKeys, what: "notify")
        let to = fields["to"].flatMap { readAddresses($0, key: "notify.to") } ?? []
        let on = fields["on"].flatMap { readEvents($0, key: "notify.on") }
        return JobNotify(to: to, on: on)
    }

    /// A list of mail addresses (`name@host`); a single address alone is taken too.
    mutating func readAddresses(_ node: Node, key: String) -> [String]? {
        let items: [Node]
        switch node {
        case .sequence(let sequence): items = Array(sequence)
        case .scalar: items = [node]
        default:
            report(node, "'\(key)' must be a list of mail addresses such as [joho-ops@city.example], found \(kind(of: node))")
            return nil
        }
        var addresses: [String] = []
        for item in items {
            guard let address = readNonEmptyString(item, key: key) else { continue }
            guard Self.isMailAddress(address) else {
                report(item, "'\(key)' has '\(address)', which is not a mail address such as joho-ops@city.example (no spaces, commas or angle brackets)")
                continue
            }
            addresses.append(address)
        }
        return addresses
    }

    /// A bare `local@domain`: nothing a mail header or sendmail's argv could read as more.
    static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !text.hasPrefix("-") else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && !"<>,;:\"()[]\\".unicodeScalars.contains($0) }
    }

    /// A list of event names (`failed`, `late`, `upstream`, `deadline`, `storage`, `recovered`, `retry`).
    mutating func readEvents(_ node: Node, key: String) -> Set<NotifyEvent>? {
        guard case .sequence(let sequence) = node else {
            report(node, "'\(key)' must be a list of events such as [failed, late, upstream, deadline, storage, recovered], found \(kind(of: node))")
            return nil
        }
        var events: Set<NotifyEvent> = []
        for item in sequence {
            guard let event = readChoice(item, key: key, as: NotifyEvent.self) else { continue }
            events.insert(event)
        }
        return events
    }
}
