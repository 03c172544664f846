import Foundation
import Testing
import Yams
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Debian's zabbix_agentd in test mode (`-t KEY`) with Units/zabbix/renkei.conf, its renkeictl
/// path replaced by the built one and pointed at the scratch's jobs and state.
private struct Agent {
    let configuration: String

    init(_ scratch: Scratch) throws {
        let shipped = try String(contentsOf: repository.appendingPathComponent("Units/zabbix/renkei.conf"), encoding: .utf8)
        #expect(shipped.contains("/usr/local/bin/renkeictl zabbix "))
        let adjusted = shipped.replacingOccurrences(of: "/usr/local/bin/renkeictl",
                                                    with: "RENKEI_JOBS=\(scratch.jobs) RENKEI_STATE=\(scratch.state) \(renkeictl)")
        try adjusted.write(toFile: scratch.root + "/zabbix-renkei.conf", atomically: true, encoding: .utf8)
        configuration = scratch.root + "/zabbix_agentd.conf"
        try """
            LogType=console
            AllowRoot=1
            PidFile=\(scratch.root)/zabbix_agentd.pid
            Timeout=30
            Include=\(scratch.root)/zabbix-renkei.conf

            """.write(toFile: configuration, atomically: true, encoding: .utf8)
    }

    /// The value the agent gets for `key`, from its `KEY [t|VALUE]` line; nil when it is not a text value.
    func value(_ key: String) throws -> String? {
        let result = try execute("/usr/sbin/zabbix_agentd", ["-c", configuration, "-t", key])
        let output = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let open = output.range(of: "[t|"), output.hasSuffix("]") else { return nil }
        return String(output[open.upperBound..<output.index(before: output.endIndex)])
    }
}

@Suite(.serialized) struct ZabbixTests {
    @Test func theAgentDiscoversTheJobsAndReadsTheirItemsFromTheStore() throws {
        let scratch = try Scratch()
        scratch.writeJob("juki-ok", "description: 住民記録の異動データを \"福祉\" へ\nschedule: \"*:*:0/2\"\nsteps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        scratch.writeJob("nenkin-ng", "schedule: \"*:*:1/2\"\nsteps:\n  - name: a\n    run: [\"/bin/false\"]\n")
        scratch.writeJob("manual-only", "steps:\n  - name: a\n    run: [\"/bin/true\"]\n")
        let agent = try Agent(scratch)

        let discovery = try #require(try agent.value("renkei.job.discovery"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(discovery.utf8)) as? [String: Any], "\(discovery)")
        let data = try #require(parsed["data"] as? [[String: String]], "\(discovery)")
        #expect(data.map { $0["{#JOB}"] } == ["juki-ok", "manual-only", "nenkin-ng"])
        #expect(data.first?["{#DESCRIPTION}"] == "住民記録の異動データを \"福祉\" へ")
        #expect(data.last?["{#DESCRIPTION}"] == "")
        #expect(data.allSatisfy { Set($0.keys) == ["{#JOB}", "{#DESCRIPTION}"] })

        let daemon = try DaemonProcess(scratch)
        #expect(try eventually(seconds: 20) {
            let runs = try allRuns(scratch)
            return runs.filter { $0.job == "nenkin-ng" && $0.state == .failed }.count >= 2 && runs.contains { $0.job == "juki-ok" && $0.state == .succeeded }
        }, "\(daemon.log)")
        #expect(try agent.value("renkei.daemon.running") == "1")
        daemon.stop()
        #expect(try agent.value("renkei.daemon.running") == "0", "renkeid down is itself an item")

        // renkeid is down: every value still comes from the store.
        let store = try StateDirectory(scratch.state).openStoreForReading()
        defer { store.close() }
        let unresolved = try store.unresolvedFailures(job: "nenkin-ng").count
        #expect(unresolved >= 2)
        #expect(try agent.value("renkei.job.unresolved[nenkin-ng]") == String(unresolved))
        #expect(try agent.value("renkei.job.unresolved[juki-ok]") == "0")
        #expect(try agent.value("renkei.job.state[nenkin-ng]") == "failed")
        #expect(try agent.value("renkei.job.state[juki-ok]") == "succeeded")
        #expect(try agent.value("renkei.job.state[manual-only]") == "none")
        #expect(try agent.value("renkei.job.since_success[nenkin-ng]") == "-1", "never succeeded")
        let lastSuccess = try #require(try allRuns(scratch).filter { $0.job == "juki-ok" && $0.state == .succeeded }.compactMap(\.finishedAt).max())
        let before = Date().timeIntervalSince(lastSuccess)
        let since = try #require(try agent.value("renkei.job.since_success[juki-ok]").flatMap { Double($0) })
        let after = Date().timeIntervalSince(lastSuccess)
        #expect(since >= before.rounded(.down) && since <= after.rounded(.up), "\(before) ≤ \(since) ≤ \(after)")

        // A job nobody knows is an error the agent shows (not a value of 0).
        let unknown = try execute(renkeictl, ["zabbix", "item", "unresolved", "no-such-job", "--jobs", scratch.jobs, "--state", scratch.state])
        #expect(unknown.status == 5)
        #expect(unknown.stderr.contains("no job no-such-job in \(scratch.jobs)"), "\(unknown.stderr)")
    }

    @Test func theTemplateIsAZabbix60ExportWhoseKeysTheUserParameterFileServes() throws {
        let text = try String(contentsOf: repository.appendingPathComponent("Units/zabbix/renkei-template.yaml"), encoding: .utf8)
        let export = try #require(try Yams.load(yaml: text) as? [String: Any])["zabbix_export"] as? [String: Any]
        #expect(export?["version"] as? String == "6.0")
        let template = try #require((export?["templates"] as? [[String: Any]])?.first)
        var keys: [String] = (template["items"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        var triggers = (template["items"] as? [[String: Any]] ?? []).flatMap { $0["triggers"] as? [[String: Any]] ?? [] }
        let rule = try #require((template["discovery_rules"] as? [[String: Any]])?.first)
        keys.append(try #require(rule["key"] as? String))
        for prototype in rule["item_prototypes"] as? [[String: Any]] ?? [] {
            keys.append(try #require(prototype["key"] as? String))
            triggers += prototype["trigger_prototypes"] as? [[String: Any]] ?? []
        }
        #expect(Set(keys) == ["renkei.daemon.running", "renkei.job.discovery", "renkei.job.state[{#JOB}]", "renkei.job.unresolved[{#JOB}]",
                              "renkei.job.since_success[{#JOB}]"])
        #expect(triggers.count == 3)
        let conf = try String(contentsOf: repository.appendingPathComponent("Units/zabbix/renkei.conf"), encoding: .utf8)
        for key in keys {
            let name = key.replacingOccurrences(of: "[{#JOB}]", with: "[*]")
            #expect(conf.contains("UserParameter=\(name),"), "\(key) has no UserParameter")
        }
        // Every uuid a Zabbix 6.0 import needs is there, 32 hex digits, and none twice.
        let uuids = text.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("uuid:") || trimmed.hasPrefix("- uuid:") else { return nil }
            return trimmed.components(separatedBy: "uuid:").last?.trimmingCharacters(in: .whitespaces)
        }
        #expect(uuids.count == 11)
        #expect(Set(uuids).count == uuids.count)
        #expect(uuids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }
}
