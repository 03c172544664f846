import Testing
@testable import RenkeiCore

private func parse(_ text: String) -> Result<SiteConfiguration, JobFileFailure> {
    SiteConfigurationParser.parse(file: "/etc/renkei/renkei.yaml", bytes: Array(text.utf8))
}

private func problems(_ text: String) -> [String] {
    switch parse(text) {
    case .success: []
    case .failure(let failure): failure.problems.map(\.description)
    }
}

@Suite struct SiteConfigurationParserTests {
    @Test func metricsTextfileIsRead() throws {
        let site = try parse("metrics:\n  textfile: /var/lib/prometheus/node-exporter/renkei.prom\n").get()
        #expect(site.metrics == MetricsSettings(textfile: "/var/lib/prometheus/node-exporter/renkei.prom"))
    }

    @Test func anEmptyOrCommentOnlyFileConfiguresNothing() throws {
        #expect(try parse("").get() == .empty)
        #expect(try parse("# nothing yet\n").get() == .empty)
        #expect(problems("metrics:\n") == [
            "/etc/renkei/renkei.yaml:1:9: error: 'metrics' must be a mapping such as { textfile: /var/lib/prometheus/node-exporter/renkei.prom }, found nothing (an empty value)",
        ], "a section named but empty is a mistake, not nothing")
    }

    @Test func anUnknownSectionIsNamedWithTheAllowedOnesAtItsLineAndColumn() {
        #expect(problems("# site\nmetric:\n  textfile: /x.prom\n") == [
            "/etc/renkei/renkei.yaml:2:1: error: unknown key 'metric' in renkei.yaml (did you mean 'metrics'?); allowed keys: metrics, notify, store",
        ])
    }

    @Test func theStoreIsReadAsTheStoreFlagReadsItAndABadOneIsNamedWhereItIs() throws {
        let site = try parse("store: postgresql:///renkei?host=/run/postgresql&user=renkei\n").get()
        #expect(site.store == .postgresql(PostgresAddress(transport: .unixSocket(directory: "/run/postgresql"), user: "renkei", database: "renkei")))
        #expect(try parse("store: sqlite:/var/lib/renkei/renkei.db\n").get().store == .sqlite(path: "/var/lib/renkei/renkei.db"))
        let found = problems("# cluster\nstore: postgresql://db.example/renkei?user=renkei&password=secret\n")
        #expect(found.count == 1 && found[0].hasPrefix("/etc/renkei/renkei.yaml:2:8: error: store '"), "\(found)")
        #expect(!found[0].contains("secret"), "the password was repeated: \(found)")
    }

    @Test func anUnknownMetricsKeyAndARelativePathAreEachReportedWhereTheyAre() {
        #expect(problems("metrics:\n  textfile: renkei.prom\n  interval: 1m\n") == [
            "/etc/renkei/renkei.yaml:2:13: error: 'textfile' must be an absolute path (renkeid runs in /), such as /var/lib/prometheus/node-exporter/renkei.prom; found 'renkei.prom'",
            "/etc/renkei/renkei.yaml:3:3: error: unknown key 'interval' in metrics; allowed keys: textfile",
        ])
    }

    @Test func aTextfileNodeExporterWouldIgnoreIsRefused() {
        let found = problems("metrics: { textfile: /var/lib/prometheus/node-exporter/renkei.txt }\n")
        #expect(found.first?.hasPrefix("/etc/renkei/renkei.yaml:1:22: error: 'textfile' must end in .prom") == true, "\(found)")
    }

    @Test func aMissingTextfileAndAWrongShapeSayWhatIsExpected() {
        #expect(problems("metrics: {}\n") == [
            "/etc/renkei/renkei.yaml:1:10: error: 'metrics' needs 'textfile:', the .prom file node_exporter reads, such as /var/lib/prometheus/node-exporter/renkei.prom",
        ])
        #expect(problems("- metrics\n").first?.hasPrefix("/etc/renkei/renkei.yaml:1:1: error: renkei.yaml is a mapping of sections") == true)
    }

    @Test func aYAMLSyntaxErrorHasItsPosition() {
        let found = problems("metrics:\n  textfile: [/x.prom\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("/etc/renkei/renkei.yaml:3:") == true || found.first?.hasPrefix("/etc/renkei/renkei.yaml:2:") == true, "\(found)")
        #expect(found.first?.contains("YAML syntax error") == true)
    }
}

@Suite struct MetricsExpositionTests {
    @Test func everyFamilyHasHelpAndTypeAndJobsAreLabelled() {
        let exposition = MetricsExposition(jobs: [
            "juki-to-fukushi": JobFigures(lastSuccess: 1_700_000_000, lastFailure: 1_699_990_000.5, unresolved: 2, lastDuration: 12.25, running: true,
                                          runs: [.succeeded: 5, .failed: 2]),
            "nenkin": JobFigures(),
        ], daemonStart: 1_699_000_000, storeWritable: true)
        let text = exposition.text
        for family in ["renkei_job_last_success_timestamp_seconds", "renkei_job_last_failure_timestamp_seconds", "renkei_job_unresolved_failures",
                       "renkei_job_last_duration_seconds", "renkei_job_running", "renkei_daemon_start_time_seconds", "renkei_store_writable"] {
            #expect(text.contains("# TYPE \(family) gauge\n"), "\(family)")
            #expect(text.contains("# HELP \(family) "), "\(family)")
        }
        #expect(text.contains("# TYPE renkei_runs_total counter\n"))
        #expect(text.contains("renkei_job_last_success_timestamp_seconds{renkei_job=\"juki-to-fukushi\"} 1700000000\n"))
        #expect(text.contains("renkei_job_last_failure_timestamp_seconds{renkei_job=\"juki-to-fukushi\"} 1699990000.5\n"))
        #expect(!text.contains("renkei_job_last_success_timestamp_seconds{renkei_job=\"nenkin\"}"), "a job that never succeeded has no sample")
        #expect(text.contains("renkei_job_unresolved_failures{renkei_job=\"juki-to-fukushi\"} 2\n"))
        #expect(text.contains("renkei_job_unresolved_failures{renkei_job=\"nenkin\"} 0\n"))
        #expect(text.contains("renkei_job_last_duration_seconds{renkei_job=\"juki-to-fukushi\"} 12.25\n"))
        #expect(text.contains("renkei_job_running{renkei_job=\"juki-to-fukushi\"} 1\n"))
        #expect(text.contains("renkei_job_running{renkei_job=\"nenkin\"} 0\n"))
        #expect(text.contains("renkei_runs_total{renkei_job=\"juki-to-fukushi\",state=\"failed\"} 2\n"))
        #expect(text.contains("renkei_runs_total{renkei_job=\"nenkin\",state=\"timed_out\"} 0\n"))
        #expect(text.contains("renkei_daemon_start_time_seconds 1699000000\n"))
        #expect(text.contains("renkei_store_writable 1\n"))
        #expect(text.hasSuffix("\n"))
    }

    @Test func labelValuesAreEscaped() {
        #expect(MetricsExposition.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
