import Yams

/// `notify:` of renkei.yaml.
extension SiteConfigurationParser {
    static let notifyKeys = ["mail", "command", "on", "unresolved_at", "lang", "timeout", "retry"]
    static let mailKeys = ["to", "from", "sendmail"]

    static func readNotify(_ reader: inout JobFileParser, _ node: Node) -> NotifySettings? {
        guard case .mapping(let mapping) = node else {
            reader.report(node, "'notify' must be a mapping such as { mail: { to: [joho-ops@city.example], from: renkei@host }, on: [failed, recovered] }, found \(reader.kind(of: node))")
            return nil
        }
        let fields = reader.readMapping(mapping, allowed: notifyKeys, what: "notify")
        var settings = NotifySettings()
        if let node = fields["mail"] { settings.mail = readMail(&reader, node) }
        if let node = fields["command"] { settings.command = readCommand(&reader, node) }
        if let node = fields["on"], let events = reader.readEvents(node, key: "notify.on") { settings.on = events }
        if let node = fields["unresolved_at"] {
            if case .sequence(let sequence) = node {
                settings.unresolvedAt = sequence.compactMap { reader.readTimeOfDay($0, key: "notify.unresolved_at") }
            } else {
                reader.report(node, "'notify.unresolved_at' must be a list of local times such as [\"09:00\", \"13:00\"], found \(reader.kind(of: node))")
            }
        }
        if let node = fields["lang"], let lang = reader.readChoice(node, key: "notify.lang", as: NoticeLanguage.self) { settings.lang = lang }
        if let node = fields["timeout"], let timeout = reader.readDuration(node, key: "notify.timeout", zeroAllowed: false) { settings.timeout = timeout }
        if let node = fields["retry"], let retry = reader.readRetry(node, key: "notify.retry") { settings.retry = retry }
        if settings.mail == nil && settings.command == nil && (fields["mail"] == nil && fields["command"] == nil) {
            reader.report(node, "'notify' needs 'mail:' or 'command:' (or both): where notices go, such as mail: { to: [joho-ops@city.example], from: renkei@host }")
        }
        return settings
    }

    static func readMail(_ reader: inout JobFileParser, _ node: Node) -> MailSettings? {
        guard case .mapping(let mapping) = node else {
            reader.report(node, "'notify.mail' must be a mapping such as { to: [joho-ops@city.example], from: renkei@host, sendmail: /usr/sbin/sendmail }, found \(reader.kind(of: node))")
            return nil
        }
        let fields = reader.readMapping(mapping, allowed: mailKeys, what: "notify.mail")
        guard let toNode = fields["to"] else {
            reader.report(node, "'notify.mail' needs 'to:', the addresses told, such as [joho-ops@city.example]")
            return nil
        }
        guard let to = reader.readAddresses(toNode, key: "notify.mail.to") else { return nil }
        if case .sequence(let items) = toNode, items.count == 0 { reader.report(toNode, "'notify.mail.to' is empty: name at least one address") }
        guard let fromNode = fields["from"] else {
            reader.report(node, "'notify.mail' needs 'from:', the sender address, such as renkei@\("host")")
            return nil
        }
        guard let from = reader.readNonEmptyString(fromNode, key: "notify.mail.from") else { return nil }
        guard JobFileParser.isMailAddress(from) else {
            reader.report(fromNode, "'notify.mail.from' is '\(from)', which is not a mail address such as renkei@host")
            return nil
        }
        var sendmail = MailSettings.defaultSendmail
        if let node = fields["sendmail"], let path = reader.readNonEmptyString(node, key: "notify.mail.sendmail") {
            guard path.hasPrefix("/") else {
                reader.report(node, "'notify.mail.sendmail' must be an absolute path such as /usr/sbin/sendmail; found '\(path)'")
                return nil
            }
            sendmail = path
        }
        return MailSettings(to: to, from: from, sendmail: sendmail)
    }

    static func readCommand(_ reader: inout JobFileParser, _ node: Node) -> [String]? {
        guard case .sequence(let sequence) = node, sequence.count > 0 else {
            reader.report(node, "'notify.command' must be an argv list such as [\"/usr/local/libexec/page-ops\"] (no shell), found \(reader.kind(of: node))")
            return nil
        }
        let argv = sequence.compactMap { reader.readString($0, key: "notify.command") }
        guard argv.count == sequence.count else { return nil }
        guard argv[0].hasPrefix("/") else {
            reader.report(sequence.first!, "'notify.command' must start with an absolute path such as /usr/local/libexec/page-ops; found '\(argv[0])'")
            return nil
        }
        return argv
    }
}
