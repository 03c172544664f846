import ArgumentParser

/// The measuring half of `make bench` (Benchmarks/bench.sh sets the scenes): each subcommand
/// measures one thing and prints its figures as one JSON object.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renkei-bench",
        abstract: "Measures Renkei for make bench; figures as JSON on standard output.",
        subcommands: [StartDaemon.self, Floor.self, ExecutorFloor.self, StoreWrites.self, Dispatch.self, LatencyFloor.self, LatencyFigures.self, RerunRoundTrip.self,
                      ScheduledLoadFigures.self, ChainHops.self, TriggerLatency.self]
    )
}
