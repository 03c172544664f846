/// What `renkei.yaml` says: the settings that are site-wide, not per job. Every section is
/// optional; an absent file is the empty configuration, which is renkeid's behaviour without one.
public struct SiteConfiguration: Sendable, Equatable {
    /// Where renkeid publishes its figures for Prometheus; nil: it publishes none.
    public var metrics: MetricsSettings?
    /// Who is told about failures, and how; nil: nobody.
    public var notify: NotifySettings?
    /// `store:` — where runs are recorded (`sqlite:PATH` or `postgresql:…`), as `--store` and
    /// `RENKEI_STORE` name it (both take precedence); nil: SQLite in the state directory.
    public var store: StoreLocation?

    public init(metrics: MetricsSettings? = nil, notify: NotifySettings? = nil, store: StoreLocation? = nil) {
        self.metrics = metrics
        self.notify = notify
        self.store = store
    }

    /// No file: nothing configured.
    public static let empty = SiteConfiguration()

    /// The file's name in the configuration directory.
    public static let fileName = "renkei.yaml"
}

/// `metrics:` — a textfile for node_exporter's textfile collector.
public struct MetricsSettings: Sendable, Equatable {
    /// Absolute path of the `.prom` file renkeid rewrites (temp + rename) on every run end and
    /// every minute; node_exporter reads it from its `--collector.textfile.directory`.
    public var textfile: String

    public init(textfile: String) {
        self.textfile = textfile
    }
}
