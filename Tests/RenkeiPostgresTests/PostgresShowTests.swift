import Foundation
import Testing
import RenkeiCore
@testable import RenkeiPostgres

/// `renkeictl show RUN --store postgresql:…` as an operator runs it after `store copy`: the built
/// renkeictl against a SQLite store it filled itself (a failed run and its rerun, a link that
/// received and delivered files, a step whose output holds bytes that are not text, a purged
/// run, notifications) and a real PostgreSQL 15 holding the copy. Each run must print the same,
/// byte for byte, from either store.
@Suite(.serialized) struct PostgresShowTests {
    /// StoreCopyTests' store (runs 1–3) plus run 4, a link that received and delivered a file
    /// (its files recorded by the link steps themselves), run 5, a step whose output has escape
    /// and invalid UTF-8 bytes and fails, and notifications; run 3 purged by retention.
    private func source() throws -> StoreCopyTests.SourceStore {
        let source = try StoreCopyTests.SourceStore()
        let jobs = source.root + "/jobs"
        for directory in ["outbox", "inbox"] {
            try FileManager.default.createDirectory(atPath: source.root + "/" + directory, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: source.root + "/outbox/IDO_20261201.csv", contents: Data("yamada,tenyu\nsato,tenshutsu\n".utf8))
        _ = FileManager.default.createFile(atPath: source.root + "/outbox/IDO_20261201.end", contents: Data())
        let link = """
            timezone: Asia/Tokyo
            steps:
              - name: receive
                receive: { from: "\(source.root)/outbox", file: "IDO_{date:%Y%m%d}.csv", done_file: "IDO_{date:%Y%m%d}.end" }
              - name: transform
                run: ["/bin/sh", "-c", "mkdir -p out && tr a-z A-Z < in/IDO_20261201.csv > out/IDO.csv && echo 2 records"]
              - name: deliver
                deliver: { file: out/IDO.csv, to: "\(source.root)/inbox", as: "IDO_{date:%Y%m%d}.csv" }
            """
        _ = FileManager.default.createFile(atPath: jobs + "/juki.yaml", contents: Data(link.utf8))
        let noisy = """
            timezone: Asia/Tokyo
            steps:
              - name: dump
                run: ["/bin/sh", "-c", "printf 'line 1\\\\n\\\\033[31mred\\\\033[0m \\\\377\\\\376 bytes\\\\n'; printf 'no end' >&2; exit 3"]
              - name: never
                run: ["/bin/true"]
            """
        _ = FileManager.default.createFile(atPath: jobs + "/noisy.yaml", contents: Data(noisy.utf8))
        let linked = try execute(renkeictl, ["run", "juki", "--local", "--jobs", jobs, "--state", source.root + "/state",
                                             "--logical-time", "2026-12-01 06:30", "--reason", "link test"])
        guard linked.status == 0 else { throw ScratchFailure("run juki --local: \(linked.status) \(linked.stdout) \(linked.stderr)") }
        let failed = try execute(renkeictl, ["run", "noisy", "--local", "--jobs", jobs, "--state", source.root + "/state"])
        guard failed.status == 1 else { throw ScratchFailure("run noisy --local: \(failed.status) \(failed.stdout) \(failed.stderr)") }
        try source.sql("""
            UPDATE run SET purged_at = '2026-12-20 03:00:00.125' WHERE id = 3;
            INSERT INTO notification (run_id, job, logical_date, event, channel, recipients, at, result, message, attempt)
              VALUES (5, 'noisy', '2026-12-01', 'failed', 'command', '/usr/local/bin/page-ops', '2026-12-01 21:30:06.456', 'failed',
                      'exit status 1: pager down', 2);
            """)
        return source
    }

    @Test func everyRunPrintsTheSameFromACopiedStore() async throws {
        let source = try source()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        try #require(copy.status == 0, "\(copy.stdout) \(copy.stderr)")
        try #require(try source.sql("SELECT count(*) FROM run") == "5")

        let jobs = ["--jobs", source.root + "/jobs"]
        for run in 1...5 {
            for options in [[], ["--json"], ["--lines", "1"]] {
                let command = ["show", String(run)] + options + jobs
                let sqlite = try renkeictlRun(command + ["--state", source.root + "/state"])
                let fromPostgres = try renkeictlRun(command + ["--store", postgres.url()])
                #expect(sqlite.status == 0, "\(command) on SQLite: \(sqlite.stderr)")
                #expect(fromPostgres.status == 0, "\(command) on PostgreSQL: \(fromPostgres.stderr)")
                #expect(!fromPostgres.stdout.isEmpty, "\(command)")
                #expect(fromPostgres.stdout == sqlite.stdout, "\(command):\n--- SQLite\n\(sqlite.stdout)\n--- PostgreSQL\n\(fromPostgres.stdout)")
            }
        }

        // What the identical output holds, read from PostgreSQL.
        func shown(_ run: Int, _ options: [String] = []) throws -> String {
            try renkeictlRun(["show", String(run)] + options + jobs + ["--store", postgres.url()]).stdout
        }
        let failed = try shown(1)
        #expect(failed.hasPrefix("run 1 · link · "), "\(failed)")
        #expect(failed.contains("resolved by   run 2 at "), "\(failed)")
        #expect(failed.contains("       | target refused"), "\(failed)")
        #expect(failed.contains("notifications:\n") && failed.contains("failed by mail to ops@city.example: sent"), "\(failed)")
        let rerun = try shown(2)
        #expect(rerun.contains("rerun of      run 1"), "\(rerun)")
        #expect(rerun.contains("     delivered /srv/out/juki.csv (from ?)  1,234 bytes  sha256 ab12…"), "\(rerun)")
        #expect(try shown(3).contains("output and work directory purged on "))
        let link = try shown(4)
        #expect(link.contains("     received \(source.root)/outbox/IDO_20261201.csv → "), "\(link)")
        #expect(link.contains("     delivered \(source.root)/inbox/IDO_20261201.csv (from "), "\(link)")
        #expect(link.contains("  28 bytes  sha256 "), "\(link)")
        let noisy = try shown(5)
        #expect(noisy.contains("  1. dump  failed  exit 3"), "\(noisy)")
        #expect(noisy.contains("  2. never  not_run"), "\(noisy)")
        #expect(noisy.contains("       | no end"), "\(noisy)")
        #expect(!noisy.contains("\u{1B}"), "escape bytes are shown, not sent to the terminal: \(noisy)")
        #expect(noisy.contains("failed by command to /usr/local/bin/page-ops (attempt 2): FAILED: exit status 1: pager down"), "\(noisy)")

        let json = try shown(4, ["--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let files = try #require(object["files"] as? [[String: Any]], "\(json)")
        #expect(files.map { $0["direction"] as? String } == ["received", "delivered"], "\(json)")
        #expect((object["steps"] as? [[String: Any]])?.count == 3, "\(json)")
        let noisyJSON = try #require(try JSONSerialization.jsonObject(with: Data(try shown(5, ["--json"]).utf8)) as? [String: Any])
        #expect((noisyJSON["notifications"] as? [[String: Any]])?.first?["attempt"] as? Int == 2, "\(noisyJSON)")

        // RENKEI_STORE names the store as well as --store does.
        let fromEnvironment = try renkeictlRun(["show", "4"] + jobs, store: postgres.url())
        #expect(fromEnvironment.status == 0 && fromEnvironment.stdout == link, "\(fromEnvironment.stderr)")
    }

    /// A run a node wrote (not a copy): times to the microsecond from now(), steps as RunRows
    /// queues them (pending, empty tails), a file recorded at a step's end.
    @Test func aRunANodeWroteIsShown() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let inserted = try postgres.psql("""
            INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters,
                             queued_at, started_at)
              VALUES ('juki', 1796074200, 'Asia/Tokyo', 'schedule', 1, 'running', 'abc', '{}', '{}', now(), now());
            INSERT INTO step (run_id, position, name, state, command, stdout_tail, stderr_tail, stdout_bytes, stderr_bytes, started_at)
              VALUES (1, 0, 'receive', 'running', '["receive"]', '\\x', '\\x', 0, 0, now()),
                     (1, 1, 'load', 'pending', '["/bin/true"]', '\\x', '\\x', 0, 0, NULL);
            INSERT INTO file (run_id, position, step, job, logical_date, direction, path, source, bytes, sha256, modified_at, outcome, recorded_at)
              VALUES (1, 0, 'receive', 'juki', '2026-12-02', 'received', '/var/lib/renkei/work/juki/1/in/IDO.csv', '/srv/outbox/IDO.csv',
                      77, 'ef56ef56ef56ef56ef56', now(), 'received', now());
            """)
        try #require(inserted.status == 0, "\(inserted.stderr)")
        let text = try renkeictlRun(["show", "1", "--store", postgres.url()])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("run 1 · juki · "), "\(text.stdout)")
        #expect(text.stdout.contains("  1. receive  running"), "\(text.stdout)")
        #expect(text.stdout.contains("  2. load  pending"), "\(text.stdout)")
        #expect(text.stdout.contains("     received /srv/outbox/IDO.csv → /var/lib/renkei/work/juki/1/in/IDO.csv  77 bytes  sha256 ef56ef56ef56ef56…"), "\(text.stdout)")
        let json = try renkeictlRun(["show", "1", "--json", "--store", postgres.url()])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["files"] as? [[String: Any]])?.first?["bytes"] as? Int == 77, "\(json.stdout)")
    }

    @Test func aMissingRunExitsFiveNamingTheStore() async throws {
        let source = try source()
        let postgres = try await ScratchPostgres().migrated()
        let copy = try execute(renkeictl, ["store", "copy", "--from", source.url, "--to", postgres.url()])
        try #require(copy.status == 0, "\(copy.stdout) \(copy.stderr)")

        for options in [[], ["--json"]] {
            let missing = try renkeictlRun(["show", "99"] + options + ["--store", postgres.url()])
            #expect(missing.status == 5, "\(missing.stdout)\(missing.stderr)")
            #expect(missing.stdout.isEmpty, "\(missing.stdout)")
            #expect(missing.stderr.contains("no run 99 in \(postgres.url()) (see renkeictl history --store '\(postgres.url())')"), "\(missing.stderr)")
        }
        let onSQLite = try renkeictlRun(["show", "99", "--state", source.root + "/state"])
        #expect(onSQLite.status == 5, "\(onSQLite.stderr)")
        #expect(onSQLite.stderr.contains("no run 99 in \(source.database) (see 'renkeictl history')"), "\(onSQLite.stderr)")
    }

    @Test func anUnreachableDatabaseExitsThreeAndABadURLTwo() async throws {
        let postgres = try await ScratchPostgres().migrated()
        let stopped = try execute(repository + "/Tests/Support/scratch-postgres.sh", ["stop", postgres.directory])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        for command in [["show", "1"], ["show", "1", "--json"]] {
            let unreachable = try renkeictlRun(command + ["--store", postgres.url()])
            #expect(unreachable.status == 3, "\(command): \(unreachable.stdout)\(unreachable.stderr)")
            #expect(unreachable.stderr.hasPrefix("renkeictl: show: "), "\(unreachable.stderr)")
            #expect(unreachable.stderr.contains("cannot reach PostgreSQL at postgresql:///renkei?host=\(postgres.directory)"), "\(unreachable.stderr)")
            #expect(unreachable.stdout.isEmpty, "\(command): \(unreachable.stdout)")
        }
        let environment = try renkeictlRun(["show", "1"], store: postgres.url())
        #expect(environment.status == 3, "\(environment.stderr)")
        let bad = try renkeictlRun(["show", "1", "--store", "postgresql:///renkei?host=/run/postgresql"])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("show: --store 'postgresql:///renkei?host=/run/postgresql'"), "\(bad.stderr)")
    }
}
