import ArgumentParser
import ClusterSimulation
import Foundation

/// `ferry simulate`: the seeded whole-cluster simulator, seed after seed.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run the seeded whole-cluster simulator: real shard drivers, storage and queue engines under simulated faults.",
        discussion: """
            Each seed builds a cluster (3–5 nodes unless --nodes; each shard on 3 or every node unless \
            --replication-factor, requests for a shard a node does not host going as calls to one that does), runs SQS clients against it while injecting \
            the seed's faults (message loss, delay, duplication and reordering; partitions; crashes, also while \
            persisting; power loss; a damaged log on a minority; clock jumps), heals, drains, and checks that no \
            acknowledged message was lost, every answer was its own request's, no receive was a phantom, FIFO \
            order held, and replicas agree. A failing seed replays exactly with --seed.
            """)

    @Option(help: "Number of seeds to run, starting at --seed (default 1).")
    var seeds = 1

    @Option(help: "The first seed (default: drawn at random and printed).")
    var seed: UInt64?

    @Option(help: "Nodes in every run (3–5); default: each seed chooses.")
    var nodes: Int?

    @Option(
        name: .customLong("replication-factor"),
        help: "Replicas of each shard (at most the nodes); default: each seed chooses 3 or every node.")
    var replicationFactor: Int?

    @Flag(help: "Print only failures and the summary.")
    var quiet = false

    @Flag(help: "Print every event of every run as it happens (for replaying one seed).")
    var trace = false

    @Option(help: "Seeds run at once, on that many threads (default: the number of cores; 1 with --trace).")
    var jobs: Int?

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        if let nodes, !(1...7).contains(nodes) { throw ValidationError("--nodes must be 1–7") }
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be 1–64") }
        if let replicationFactor, !(1...(nodes ?? 3)).contains(replicationFactor) {
            throw ValidationError("--replication-factor must be 1 to the number of nodes (3 unless --nodes)")
        }
    }

    func run() async throws {
        let first = seed ?? UInt64.random(in: 1...UInt64(UInt32.max))
        if seed == nil { Self.emit("seeds \(first) to \(first &+ UInt64(seeds) &- 1) (replay one with --seed S)") }
        let width = trace ? 1 : jobs ?? ProcessInfo.processInfo.activeProcessorCount
        let (nodes, replicationFactor, trace) = (nodes, replicationFactor, trace)
        var failures: [UInt64] = []
        var totals: [String: Int] = [:]
        var (snapshots, pieces, transfers, twoShardSeeds) = (0, 0, 0, 0)
        var (routedSeeds, callsAnswered, callsFailed, handOvers, moves) = (0, 0, 0, 0, 0)
        // Seeds run `width` at a time; reports print in seed order (every seed is independent).
        var offset: UInt64 = 0
        while offset < UInt64(seeds) {
            let batch = offset..<min(UInt64(seeds), offset + UInt64(width))
            let reports = await withTaskGroup(of: SimulationReport.self) { group in
                for index in batch {
                    group.addTask {
                        ClusterSimulation.run(
                            seed: first &+ index, nodes: nodes, replicationFactor: replicationFactor,
                            trace: trace ? { Self.emit($0) } : nil)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }.sorted { $0.seed < $1.seed }
            }
            for report in reports {
                for (kind, count) in report.faults { totals[kind, default: 0] += count }
                if report.failure != nil { failures.append(report.seed) }
                snapshots += report.snapshotsInstalled
                pieces += report.snapshotChunksDelivered
                transfers += report.transfers
                handOvers += report.leaderHandOvers
                moves += report.movesCompleted
                if report.shards > 1 { twoShardSeeds += 1 }
                if report.replicationFactor < report.nodes { routedSeeds += 1 }
                callsAnswered += report.callsAnswered
                callsFailed += report.callsFailed
                print(report)
            }
            offset = batch.upperBound
        }
        let summary = totals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        Self.emit("\(seeds) seeds, \(failures.count) failures; faults: \(summary)")
        Self.emit(
            "snapshots installed from a leader: \(snapshots), streamed in \(pieces) pieces delivered; "
                + "seeds with two shards: \(twoShardSeeds), moves of messages between shards: \(transfers); "
                + "seeds with more nodes than replicas: \(routedSeeds), calls between nodes answered: \(callsAnswered), "
                + "timed out or cut: \(callsFailed); hand-overs to a preferred leader: \(handOvers), "
                + "replica moves completed: \(moves)")
        if !failures.isEmpty {
            Self.emit("replay with: ferry simulate --seed S (S in \(failures.map(String.init).joined(separator: " ")))")
            throw ExitCode.failure
        }
    }

    private func print(_ report: SimulationReport) {
        let faults = report.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        if let failure = report.failure {
            Self.emit(
                "seed \(report.seed): FAILED (\(report.nodes) nodes; faults: \(faults.isEmpty ? "none" : faults))")
            Self.emit(failure)
        } else if !quiet {
            Self.emit(
                "seed \(report.seed): ok (\(report.nodes) nodes, \(report.operations) operations, \(report.acknowledgedSends) sends acknowledged, \(report.duplicateDeliveries) duplicate deliveries, \(report.snapshotsInstalled) snapshots installed, \(report.shards) shards, replication factor \(report.replicationFactor), \(report.callsAnswered) calls answered, \(report.transfers) moves between shards, at most \(report.busiestSecondFrames) frames/s; faults: \(faults.isEmpty ? "none" : faults))"
            )
        }
    }

    /// Writes a line unbuffered, so a file or CI log shows each seed as it finishes.
    private static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
