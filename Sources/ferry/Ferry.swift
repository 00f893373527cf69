import ArgumentParser
import Foundation

/// The `ferry` command line.
@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ferry: a self-hosted message queue that speaks the Amazon SQS protocol.",
        subcommands: [Serve.self, ClusterCommand.self, Certs.self, Bench.self, Simulate.self, Chaos.self])

    /// Parses the process's arguments. Under an LD_PRELOAD library that runs before the Swift runtime
    /// captures them (libfaketime, which `ferry chaos` uses for clock faults), `CommandLine.arguments` is
    /// empty: they are read from /proc/self/cmdline then.
    static func main() async {
        var arguments = CommandLine.arguments
        if arguments.isEmpty, let data = FileManager.default.contents(atPath: "/proc/self/cmdline") {
            arguments = data.split(separator: 0, omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            if arguments.last == "" { arguments.removeLast() }
        }
        await main(Array(arguments.dropFirst()))
    }
}
