import Benchmark
import LZ4

/// Megabytes (10^6 bytes) of uncompressed data a second, measured over each sample's iterations.
let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)

/// LZ4 block compression of CloudEvents JSON, as the segment log compresses record bodies: a 64 KB run of events
/// and one 256-byte event. Each compress benchmark prints the ratio when it starts; `swift test --filter
/// LZ4RoundTripTests` prints the same figures from the same generator.
func lz4Benchmarks() {
    let inputs: [(label: String, bytes: [UInt8], scalingFactor: BenchmarkScalingFactor)] = [
        ("64KB", CloudEventsSample.stream(byteCount: 65_536), .one),
        ("256B", CloudEventsSample.event(byteCount: 256), .kilo),
    ]
    for (label, original, scalingFactor) in inputs {
        let block = try! LZ4.compress(original)
        let metrics = Benchmark.defaultConfiguration.metrics + [megabytesPerSecond]
        let units: [BenchmarkMetric: BenchmarkUnits] = [megabytesPerSecond: .count]
        var thresholds = Benchmark.defaultConfiguration.thresholds ?? [:]
        thresholds[megabytesPerSecond] = rateTolerance
        let name = "\(label)_CloudEventsJSON"

        Benchmark(
            "LZ4.Compress_\(name)",
            configuration: .init(
                metrics: metrics, units: units, scalingFactor: scalingFactor, thresholds: thresholds,
                setup: {
                    let ratio = Double(original.count) / Double(block.count)
                    print("LZ4 \(label) CloudEvents JSON: \(original.count) -> \(block.count) bytes, ratio \(ratio)")
                })
        ) { benchmark in
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let start = clock.now
            for _ in benchmark.scaledIterations { blackHole(try LZ4.compress(original)) }
            let elapsed = start.duration(to: clock.now)
            benchmark.stopMeasurement()
            benchmark.measurement(megabytesPerSecond, megabytes(original.count * scalingFactor.rawValue, in: elapsed))
        }

        Benchmark(
            "LZ4.Decompress_\(name)",
            configuration: .init(metrics: metrics, units: units, scalingFactor: scalingFactor, thresholds: thresholds)
        ) { benchmark in
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let start = clock.now
            for _ in benchmark.scaledIterations {
                blackHole(try LZ4.decompress(block, uncompressedCount: original.count))
            }
            let elapsed = start.duration(to: clock.now)
            benchmark.stopMeasurement()
            benchmark.measurement(megabytesPerSecond, megabytes(original.count * scalingFactor.rawValue, in: elapsed))
        }
    }
}

/// `byteCount` bytes in `duration`, in megabytes a second (rounded; at least 1 for a zero duration).
func megabytes(_ byteCount: Int, in duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    let nanoseconds = max(1, Double(seconds) * 1e9 + Double(attoseconds) / 1e9)
    return Int((Double(byteCount) / nanoseconds * 1e3).rounded())
}
