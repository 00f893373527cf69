import Benchmark
import ClusterSimulation

/// The shard driver's hot path on an in-process group of 3 replicas over simulated disks
/// (`ShardGroupBench`): a request proposed on the leader, persisted, replicated (frames encoded and
/// decoded as on the wire), committed, applied and answered; no threads, sockets or fsyncs. One iteration
/// is one SendMessageBatch of 10 × 256 B, or the full cycle of one batch (send, receive, delete).
func driverBenchmarks() {
    Benchmark("Driver.SendMessageBatch_10x256B_3Replicas") { benchmark in
        var group = try ShardGroupBench(replicas: 3)
        // Keep the queue shallow: a receive and delete every 100 batches.
        benchmark.startMeasurement()
        for iteration in benchmark.scaledIterations {
            blackHole(try group.sendBatch(count: 10, bodyBytes: 256))
            if iteration % 100 == 99 {
                benchmark.stopMeasurement()
                for _ in 0..<100 { try group.drainBatch(count: 10) }
                benchmark.startMeasurement()
            }
        }
        benchmark.stopMeasurement()
    }
    Benchmark("Driver.Cycle_10x256B_3Replicas") { benchmark in
        var group = try ShardGroupBench(replicas: 3)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try group.cycle(count: 10, bodyBytes: 256) }
        benchmark.stopMeasurement()
    }
}
