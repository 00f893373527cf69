import ArgumentParser

/// The `ferry` command line.
@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ferry: a self-hosted message queue that speaks the Amazon SQS protocol.",
        subcommands: [Serve.self, ClusterCommand.self, Certs.self, Bench.self, Simulate.self])
}
