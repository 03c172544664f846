import GRDB

/// The store's schema, as named migrations. A migration that has landed is never edited: a change
/// is a new migration appended here, with a test that opens a database of the previous version.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: runs and steps") { db in
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull()
                t.column("logical_time", .integer).notNull()
                t.column("logical_zone", .text).notNull()
                t.column("trigger", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("definition_hash", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("parameters", .text).notNull()
                t.column("requested_by_uid", .integer)
                t.column("requested_by_user", .text)
                t.column("reason", .text)
                t.column("rerun_of", .integer).references("run")
                t.column("retry_of", .integer).references("run")
                t.column("queued_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("exit_status", .integer)
                t.column("signal", .integer)
                t.column("error_class", .text)
                t.column("error_message", .text)
                t.column("failed_step", .text)
                t.column("resolved_by", .integer).references("run")
                t.column("resolved_at", .datetime)
                t.column("owner", .text)
                t.column("work_directory", .text)
            }
            try db.create(index: "run_by_job_and_logical_time", on: "run", columns: ["job", "logical_time"])
            try db.create(index: "run_by_queued_at", on: "run", columns: ["queued_at"])
            // Runs that are not final yet: what crash recovery and the scheduler look for.
            try db.execute(sql: "CREATE INDEX run_unfinished ON run(state) WHERE state IN ('queued', 'running')")
            try db.create(table: "step") { t in
                t.column("run_id", .integer).notNull().references("run", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("state", .text).notNull()
                t.column("command", .text).notNull()
                t.column("pid", .integer)
                t.column("process", .text)
                t.column("started_at", .datetime)
                t.column("finished_at", .datetime)
                t.column("exit_status", .integer)
                t.column("signal", .integer)
                t.column("error_class", .text)
                t.column("message", .text)
                t.column("stdout_tail", .blob).notNull()
                t.column("stderr_tail", .blob).notNull()
                t.column("stdout_bytes", .integer).notNull()
                t.column("stderr_bytes", .integer).notNull()
                t.primaryKey(["run_id", "position"])
            }
        }
        migrator.registerMigration("v2: deadline breaches") { db in
            try db.create(table: "deadline_breach") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull()
                t.column("logical_time", .integer).notNull()
                t.column("kind", .text).notNull()
                t.column("deadline", .datetime).notNull()
                t.column("recorded_at", .datetime).notNull()
            }
            try db.create(index: "deadline_breach_by_job", on: "deadline_breach", columns: ["job", "logical_time"])
        }
        migrator.registerMigration("v3: audit") { db in
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("uid", .integer).notNull()
                t.column("user", .text).notNull()
                t.column("pid", .integer).notNull()
                t.column("request", .text).notNull()
                t.column("reason", .text)
                t.column("result", .text).notNull()
                t.column("run_id", .integer)
                t.column("previous_hash", .text).notNull()
                t.column("hash", .text).notNull()
            }
            // Append-only: the database itself refuses edits and deletions through SQL.
            try db.execute(sql: "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
            try db.execute(sql: "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
        }
        migrator.registerMigration("v4: report index") { db in
            // The failure report aggregates by logical time over all jobs.
            // Covering for the counts (logical_time, job, state): the report reads no table rows for them.
            try db.create(index: "run_by_logical_time", on: "run", columns: ["logical_time", "job", "state"])
        }
        migrator.registerMigration("v5: files") { db in
            // Every file a built-in step received or delivered (or refused to), per run and step.
            // `job` and `logical_date` are copied from the run: receipts are looked up by them.
            try db.create(table: "file") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .integer).notNull().references("run", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("step", .text).notNull()
                t.column("job", .text).notNull()
                t.column("logical_date", .text).notNull()
                t.column("direction", .text).notNull()
                t.column("path", .text).notNull()
                t.column("source", .text)
                t.column("bytes", .integer).notNull()
                t.column("sha256", .text).notNull()
                t.column("modified_at", .datetime)
                t.column("records", .integer)
                t.column("outcome", .text).notNull()
                t.column("note", .text)
                t.column("source_sha256", .text)
                t.column("recorded_at", .datetime).notNull()
            }
            try db.create(index: "file_by_run", on: "file", columns: ["run_id", "position"])
            try db.create(index: "file_by_job_and_date", on: "file", columns: ["job", "logical_date", "direction"])
        }
        migrator.registerMigration("v6: waiting runs") { db in
            // Runs waiting for their upstreams are found at start-up without scanning every run.
            try db.execute(sql: "CREATE INDEX run_waiting ON run(job) WHERE state = 'waiting'")
        }
        migrator.registerMigration("v7: trigger files") { db in
            // Every file whose arrival started (or is starting) a run of a job with `trigger:`.
            // One row per job and content: the same bytes under a second name, or again after a
            // restart, start no second run. `run_id` is filled once the run exists; no foreign
            // key, so purging old runs never makes their files look new again.
            try db.create(table: "trigger_file") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("job", .text).notNull()
                t.column("path", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("bytes", .integer).notNull()
                t.column("logical_date", .text).notNull()
                t.column("run_id", .integer)
                t.column("seen_at", .datetime).notNull()
                t.uniqueKey(["job", "sha256"])
            }
            // Claims whose run was never made (renkeid stopped in between) are found at start-up.
            try db.execute(sql: "CREATE INDEX trigger_file_without_run ON trigger_file(id) WHERE run_id IS NULL")
        }
        migrator.registerMigration("v8: holds") { db in
            // Jobs an operator holds (renkeictl hold); a hold survives a restart of renkeid.
            try db.create(table: "hold") { t in
                t.primaryKey("job", .text)
                t.column("held_by", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("since", .datetime).notNull()
                t.column("until", .datetime)
            }
        }
        migrator.registerMigration("v9: purged runs") { db in
            // When retention cleared a run's output tails and deleted its work directory; the
            // row, its steps' states and byte counts, its files and the audit stay.
            try db.alter(table: "run") { t in t.add(column: "purged_at", .datetime) }
        }
        migrator.registerMigration("v10: audit sealing") { db in
            // How each audit row's hash was made: `sha256`, or `hmac-sha256` under the audit key.
            // Rows written before this were all plain SHA-256.
            try db.alter(table: "audit") { t in t.add(column: "sealing", .text).notNull().defaults(to: "sha256") }
        }
        migrator.registerMigration("v11: notifications") { db in
            // Every notification renkeid tried to send, one row per try: when, to whom, about
            // which run (none for a storage notice or a reminder), and how it went.
            try db.create(table: "notification") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .integer)
                t.column("job", .text)
                t.column("logical_date", .text)
                t.column("event", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("recipients", .text).notNull()
                t.column("at", .datetime).notNull()
                t.column("result", .text).notNull()
                t.column("message", .text)
                t.column("attempt", .integer).notNull()
            }
            try db.create(index: "notification_run", on: "notification", columns: ["run_id"])
        }
        return migrator
    }
}
