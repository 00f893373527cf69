import Benchmark
import Raft


/// A 3-node Raft group in one process, messages handed over in memory, no disk: the cost of consensus
/// itself per committed entry, batches of 1 and 64 proposals of 256 bytes. Each iteration proposes one
/// batch on the leader and pumps Ready → send → apply → advance on every node until the batch is applied
/// everywhere.
func raftBenchmarks() {
    for batchSize in [1, 64] {
        // mallocCountTotal is per iteration (one batch, all three nodes): divide by the batch size for per entry.
        let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, entriesPerSecond]
        Benchmark(
            "Raft.Commit_3Nodes_Batch\(batchSize)x256B",
            configuration: .init(
                metrics: metrics, units: [entriesPerSecond: .count],
                scalingFactor: .kilo, maxDuration: .seconds(5), thresholds: [:])
        ) { benchmark in
            var group = InProcessGroup(size: 3)
            let payload = [UInt8](repeating: 0x61, count: 256)
            let batch = [[UInt8]](repeating: payload, count: batchSize)
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let start = clock.now
            for _ in benchmark.scaledIterations { group.commit(batch) }
            let elapsed = start.duration(to: clock.now)
            benchmark.stopMeasurement()
            let entries = benchmark.scaledIterations.count * batchSize
            let (seconds, attoseconds) = elapsed.components
            let nanoseconds = max(1, Double(seconds) * 1e9 + Double(attoseconds) / 1e9)
            benchmark.measurement(entriesPerSecond, Int((Double(entries) / nanoseconds * 1e9).rounded()))
            blackHole(group)
        }
    }
}

/// Nodes 1…size with an elected leader, pumped synchronously.
struct InProcessGroup {
    var nodes: [Raft]
    var inflight: [Message] = []
    var leaderIndex = 0

    init(size: Int) {
        let membership = Membership(voters: Set((1...size).map { NodeID($0) }))
        nodes = (1...size).map { id in
            Raft(configuration: RaftConfiguration(id: NodeID(id)), membership: membership, seed: 7)
        }
        for _ in 0..<100 where !nodes.contains(where: { $0.role == .leader }) {
            for index in nodes.indices { nodes[index].tick() }
            pump()
        }
        leaderIndex = nodes.firstIndex { $0.role == .leader }!
    }

    mutating func commit(_ batch: [[UInt8]]) {
        try! nodes[leaderIndex].propose(batch)
        pump()
    }

    mutating func pump() {
        while true {
            var progressed = false
            for index in nodes.indices where nodes[index].hasReady {
                let ready = nodes[index].ready()
                inflight.append(contentsOf: ready.messages)
                blackHole(ready.committedEntries.count)
                nodes[index].advance(ready)
                progressed = true
            }
            if inflight.isEmpty && !progressed { return }
            let messages = inflight
            inflight = []
            for message in messages { nodes[Int(message.to) - 1].step(message) }
        }
    }
}
