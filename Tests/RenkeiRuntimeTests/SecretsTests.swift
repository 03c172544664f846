import Foundation
import Testing
@testable import RenkeiCore
@testable import RenkeiRuntime
@testable import RenkeiStore

/// A secret given to a step (a secret-named variable, a systemd credential) reaches the step's
/// process and nothing an operator or another user can read.
@Suite(.serialized) struct SecretsTests {
    static let password = "s3cr3t-Hunter"
    static let credential = "cred-Xyzzy42"

    /// The step checks it got both values in clear, then fails, so the run is in every report.
    static let job = """
        timezone: UTC
        environment: { DB_PASSWORD: \(password) }
        steps:
          - name: load
            run: ["/bin/sh", "-c", "[ \\"$1\\" = pw=\(password) ] && [ \\"$2\\" = \(credential) ] || exit 9; exit 3", "sh", "pw=${DB_PASSWORD}", "${credential:db}"]
        """

    static func environment(credentials: String?) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        environment["LANG"] = "C.UTF-8"
        environment["CREDENTIALS_DIRECTORY"] = credentials
        return environment
    }

    @Test func aSecretInArgvReachesTheProcessButNotTheStoreShowJSONOrReports() throws {
        let scratch = try Scratch()
        scratch.writeJob("load", Self.job)
        let credentials = scratch.root + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        // Written as `echo cred-Xyzzy42 > db` would: the newline is not part of the value.
        #expect(FileManager.default.createFile(atPath: credentials + "/db", contents: Data((Self.credential + "\n").utf8)))
        let environment = Self.environment(credentials: credentials)

        let run = try execute(renkeictl, ["run", "load", "--local", "--jobs", scratch.jobs, "--state", scratch.state,
                                          "--logical-time", "2026-11-26 06:30", "--reason", "test"], environment: environment)
        #expect(run.status == 1)
        #expect(run.stdout.contains("exit status 3"), "the process got both values in clear: \(run.stdout) \(run.stderr)")

        var outputs: [(String, String)] = [("run", run.stdout + run.stderr)]
        for path in try FileManager.default.contentsOfDirectory(atPath: scratch.state) where path.hasPrefix("renkei.db") {
            let bytes = try #require(FileManager.default.contents(atPath: scratch.state + "/" + path))
            outputs.append((path, String(decoding: bytes, as: UTF8.self)))
        }
        let store = try RunStore.openForReading(at: scratch.state + "/renkei.db")
        let detail = try #require(try store.detail(runID: 1))
        #expect(detail.steps[0].command.contains("pw=(redacted)"))
        #expect(detail.steps[0].command.contains("\"(redacted)\""))

        let show = try execute(renkeictl, ["show", "1", "--state", scratch.state, "--jobs", scratch.jobs], environment: environment)
        #expect(show.status == 0)
        #expect(show.stdout.contains("pw=(redacted)"), "\(show.stdout)")
        outputs.append(("show", show.stdout + show.stderr))
        let json = try execute(renkeictl, ["show", "1", "--json", "--state", scratch.state, "--jobs", scratch.jobs], environment: environment)
        #expect(json.status == 0)
        #expect(json.stdout.contains("pw=(redacted)"), "\(json.stdout)")
        outputs.append(("show --json", json.stdout + json.stderr))
        for format in ["text", "json", "csv", "html"] {
            let report = try execute(renkeictl, ["report", "--state", scratch.state, "--since", "2026-11-20T00:00:00+00:00",
                                                 "--until", "2026-12-01T00:00:00+00:00", "--format", format], environment: environment)
            #expect(report.status == 0, "\(format): \(report.stderr)")
            outputs.append(("report --format \(format)", report.stdout + report.stderr))
        }
        let audit = try execute(renkeictl, ["audit", "--state", scratch.state], environment: environment)
        outputs.append(("audit", audit.stdout + audit.stderr))

        #expect(outputs.count >= 9)
        for (what, text) in outputs {
            #expect(!text.contains(Self.password), "\(what) shows the password")
            #expect(!text.contains(Self.credential), "\(what) shows the credential")
        }
    }

    /// renkeid's own journal entries (run events, failure lines, the stored command) never carry
    /// a secret's value: read back from a real, private journald.
    @Test(.enabled(if: JournalTests.canRunJournald, "needs root, unshare and systemd-journald"))
    func aSecretNeverReachesTheJournal() throws {
        let scratch = try Scratch()
        scratch.writeJob("load", """
            schedule: "*:*:0/2"
            environment: { DB_PASSWORD: \(Self.password) }
            steps:
              - name: load
                run: ["/bin/sh", "-c", "[ \\"$1\\" = pw=\(Self.password) ] || exit 9; exit 3", "sh", "pw=${DB_PASSWORD}"]
            """)
        let entries = try JournalTests.journal(of: scratch, seconds: 5)
        let failed = entries.filter { $0["MESSAGE_ID"] as? String == EventKind.runFailed.messageID && $0["RENKEI_JOB"] as? String == "load" }
        #expect(!failed.isEmpty, "the job ran and failed under renkeid")
        #expect(failed.allSatisfy { ($0["MESSAGE"] as? String)?.contains("exit status 3") == true }, "the step got the value in clear")
        for entry in entries {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: entry), as: UTF8.self)
            #expect(!text.contains(Self.password), "a journal entry shows the password: \(text)")
        }
    }

    @Test func aMissingCredentialFailsTheStepNamingItAndCredentialsDirectory() throws {
        let scratch = try Scratch()
        scratch.writeJob("load", Self.job)
        let unset = try execute(renkeictl, ["run", "load", "--local", "--jobs", scratch.jobs, "--state", scratch.state],
                                environment: Self.environment(credentials: nil))
        #expect(unset.status == 1)
        #expect(unset.stdout.contains("cannot read credential 'db' for ${credential:db}: $CREDENTIALS_DIRECTORY is not set"), "\(unset.stdout)")
        #expect(unset.stdout.contains("LoadCredential=db:"))

        let empty = scratch.root + "/credentials"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let missing = try execute(renkeictl, ["run", "load", "--local", "--jobs", scratch.jobs, "--state", scratch.state],
                                  environment: Self.environment(credentials: empty))
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("cannot read credential 'db' for ${credential:db}: \(empty)/db in $CREDENTIALS_DIRECTORY: it does not exist"), "\(missing.stdout)")
    }
}
