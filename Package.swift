// swift-tools-version: 6.2
// Renkei: the data-link job runner for Linux and systemd.
//
// The layout is the architecture:
//   RenkeiCore      pure model (jobs, durations, run states); no I/O, no clock
//   RenkeiStore     the SQLite run store (GRDB)
//   RenkeiPostgres  the PostgreSQL store for several nodes (PostgresNIO): schema, leader lease
//   RenkeiExecutor  child processes for steps (swift-subprocess)
//   RenkeiLink      what built-in steps do to files: receive, deliver (run in their own process);
//                   and the trigger watcher renkeid runs, which judges arrivals as receive does
//   RenkeiEncoding  pure text encodings: UTF-8, cp932, shift_jis, euc-jp; checks, conversion, repertoires
//   RenkeiRuntime   the glue both programs share: job directory, state paths, locks, one run end to end
//   RenkeiSystemd   the journal (swift-log handler, job output) and sd_notify over libsystemd
//   renkeictl       the operator's command
//   renkeid         the daemon
import PackageDescription

let package = Package(
    name: "Renkei",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "renkeid", targets: ["renkeid"]),
        .executable(name: "renkeictl", targets: ["renkeictl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2", traits: []),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // renkeid's services (its loop, the control socket, signals) and their graceful shutdown.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The PostgreSQL store (issue 19): RenkeiPostgres, for `renkeictl store` and renkeid's
        // `--store postgresql:…`; the SQLite store itself does not use it.
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        .target(
            name: "RenkeiCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "RenkeiStore",
            dependencies: [
                "RenkeiCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "RenkeiExecutor",
            dependencies: [
                "RenkeiCore",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Built-in steps' file work; runs in `renkeictl link-step`, a child process like any step.
        .target(
            name: "RenkeiLink",
            dependencies: [
                "RenkeiCore",
                "RenkeiEncoding",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "RenkeiRuntime",
            dependencies: [
                "RenkeiCore",
                "RenkeiStore",
                "RenkeiExecutor",
                "RenkeiSystemd",
                "RenkeiControl",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The PostgreSQL store: schema migrations, the leader lease with its fencing epoch.
        .target(
            name: "RenkeiPostgres",
            dependencies: [
                "RenkeiCore",
                // `store copy` reads a SQLite store's rows and audit records.
                "RenkeiStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // libsystemd's sd_notify and sd_journal_sendv (libsystemd-dev).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "RenkeiSystemd", dependencies: ["RenkeiCore", "CSystemd", .product(name: "Logging", package: "swift-log")]),
        // The control socket's protocol, shared by renkeid and renkeictl.
        .target(name: "RenkeiControl"),
        .executableTarget(
            name: "renkeictl",
            dependencies: [
                "RenkeiCore",
                "RenkeiLink",
                "RenkeiStore",
                "RenkeiRuntime",
                "RenkeiSystemd",
                "RenkeiControl",
                // `renkeictl store migrate`: the PostgreSQL schema.
                "RenkeiPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "renkeid",
            dependencies: [
                "RenkeiCore",
                "RenkeiStore",
                "RenkeiRuntime",
                "RenkeiSystemd",
                "RenkeiControl",
                // TriggerWatcher: `trigger:` files judged complete exactly as `receive` judges them.
                "RenkeiLink",
                // `--store postgresql:…`: renkeid as one node of several (ClusterNode).
                "RenkeiPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // make bench: the measuring tool and the child whose start the latency figure times.
        .executableTarget(
            name: "renkei-bench",
            dependencies: [
                "RenkeiControl",
                "RenkeiExecutor",
                "RenkeiStore",
                "RenkeiCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/renkei-bench"
        ),
        .executableTarget(name: "renkei-bench-stamp", path: "Benchmarks/renkei-bench-stamp"),
        .target(name: "RenkeiEncoding", path: "Sources/RenkeiEncoding"),
        .testTarget(name: "RenkeiCoreTests", dependencies: ["RenkeiCore"]),
        .testTarget(name: "RenkeiEncodingTests", dependencies: ["RenkeiEncoding"]),
        // Renkei's calendar against systemd-analyze itself, over a generated corpus.
        .testTarget(name: "CalendarOracleTests", dependencies: ["RenkeiCore"]),
        .testTarget(name: "RenkeiStoreTests", dependencies: ["RenkeiStore", "RenkeiCore"]),
        .testTarget(name: "RenkeiExecutorTests", dependencies: ["RenkeiExecutor", "RenkeiCore"]),
        .testTarget(name: "RenkeiLinkTests", dependencies: ["RenkeiLink", "RenkeiCore", "RenkeiEncoding"]),
        // Against a real PostgreSQL 15 started by the tests as a non-root user (Tests/Support/with-postgres.sh).
        .testTarget(name: "RenkeiPostgresTests", dependencies: ["RenkeiPostgres", "RenkeiCore"]),
        .testTarget(
            name: "RenkeiRuntimeTests",
            dependencies: ["RenkeiRuntime", "RenkeiStore", "RenkeiCore", "RenkeiSystemd", .product(name: "Yams", package: "Yams")]
        ),
    ]
)
