import Yams

/// Reads `renkei.yaml` into a `SiteConfiguration`, or into every problem found, each with its
/// `FILE:LINE:COL` like a job file's. It reads nodes with the job-file parser's readers, so that
/// an unknown key is named with the allowed ones and every message reads the same.
public enum SiteConfigurationParser {
    /// The top-level sections.
    static let sections = ["metrics", "notify", "store"]
    static let metricsKeys = ["textfile"]

    public static func parse(file: String, bytes: [UInt8]) -> Result<SiteConfiguration, JobFileFailure> {
        var reader = JobFileParser(file: file, readClosedDayFile: { path in .failure(.unreadable(path, "not read here")) })
        let configuration = read(&reader, bytes: bytes)
        if let configuration, reader.problems.isEmpty { return .success(configuration) }
        let ordered = reader.problems.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
        return .failure(JobFileFailure(problems: Array(ordered.prefix(JobFileParser.maximumProblems))))
    }

    static func read(_ reader: inout JobFileParser, bytes: [UInt8]) -> SiteConfiguration? {
        guard let text = reader.decodeUTF8(bytes) else { return nil }
        let root: Node
        do {
            // Only comments, or nothing: every setting is optional.
            guard let composed = try Yams.compose(yaml: text) else { return SiteConfiguration.empty }
            root = composed
        } catch {
            reader.reportYAMLError(error, text: text)
            return nil
        }
        if case .scalar(let scalar) = root, reader.isNull(scalar) { return SiteConfiguration.empty }
        guard case .mapping(let mapping) = root else {
            reader.report(root, "renkei.yaml is a mapping of sections such as 'metrics:', found \(reader.kind(of: root))")
            return nil
        }
        let fields = reader.readMapping(mapping, allowed: sections, what: "renkei.yaml")
        var configuration = SiteConfiguration()
        if let node = fields["metrics"] { configuration.metrics = readMetrics(&reader, node) }
        if let node = fields["notify"] { configuration.notify = readNotify(&reader, node) }
        if let node = fields["store"] { configuration.store = readStore(&reader, node) }
        return configuration
    }

    static func readMetrics(_ reader: inout JobFileParser, _ node: Node) -> MetricsSettings? {
        guard case .mapping(let mapping) = node else {
            reader.report(node, "'metrics' must be a mapping such as { textfile: /var/lib/prometheus/node-exporter/renkei.prom }, found \(reader.kind(of: node))")
            return nil
        }
        let fields = reader.readMapping(mapping, allowed: metricsKeys, what: "metrics")
        guard let textfileNode = fields["textfile"] else {
            reader.report(node, "'metrics' needs 'textfile:', the .prom file node_exporter reads, such as /var/lib/prometheus/node-exporter/renkei.prom")
            return nil
        }
        guard let path = reader.readNonEmptyString(textfileNode, key: "textfile") else { return nil }
        guard path.hasPrefix("/") else {
            reader.report(textfileNode, "'textfile' must be an absolute path (renkeid runs in /), such as /var/lib/prometheus/node-exporter/renkei.prom; found '\(path)'")
            return nil
        }
        guard path.hasSuffix(".prom") else {
            reader.report(textfileNode, "'textfile' must end in .prom: node_exporter's textfile collector reads only *.prom files; found '\(path)'")
            return nil
        }
        return MetricsSettings(textfile: path)
    }

    /// `store: postgresql:///renkei?host=/run/postgresql&user=renkei`, checked as `--store` is.
    static func readStore(_ reader: inout JobFileParser, _ node: Node) -> StoreLocation? {
        guard let text = reader.readNonEmptyString(node, key: "store") else { return nil }
        do {
            return try StoreLocation.parse(text, argument: "store")
        } catch {
            reader.report(node, "\(error)")
            return nil
        }
    }
}
