import Benchmark
import SegmentLog

/// Log entries appended a second, measured over each sample's one append.
let entriesPerSecond = BenchmarkMetric.custom("entries/s", polarity: .prefersLarger, useScalingFactor: false)
/// Kilobytes (10^3 bytes) of entry payload a second. Kilobytes rather than megabytes because the metric is an
/// integer and a single 256-byte append moves well under 1 MB/s.
let kilobytesPerSecond = BenchmarkMetric.custom("KB/s", polarity: .prefersLarger, useScalingFactor: false)
/// Megabytes (10^6 bytes) a second of segment files read back by recovery (compressed, as stored).
let diskMegabytesPerSecond = BenchmarkMetric.custom("disk MB/s", polarity: .prefersLarger, useScalingFactor: false)

/// The durable log on the real disk, under a fresh directory in the system's temporary directory per benchmark
/// (removed at teardown), through `PosixFileSystem`, with default options:
///
/// - `SegmentLog.Append_<count>x<size>`: one `append` of a batch per sample, syncPolicy `.always`, so one pwrite and
///   one fdatasync (plus, every 64 MiB, a new segment and a directory fsync). Payloads are consecutive slices of a
///   `CloudEventsSample` stream (CloudEvents JSON, one event a line), so a batch of 1 KiB or more is LZ4-compressed
///   about 3.9x, as a shard's message log would be.
/// - `Disk.PwriteFdatasync_<size>`: the same disk without the log, one pwrite at the end of a plain file and one
///   fdatasync per sample: the rate the log's appends can be compared with.
/// - `SegmentLog.Recovery_1GB`: `SegmentLog.open` and `close` of a log holding 1 GiB of entry payload.
///
/// These measure the disk as much as the code and vary with whatever else uses it, so they have no tolerances
/// (`thresholds: nil`) and no stored thresholds: run `thresholds update` and `thresholds check` with
/// `--skip "SegmentLog.*" --skip "Disk.*"`.
func segmentLogBenchmarks() {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, entriesPerSecond, kilobytesPerSecond]
    let units: [BenchmarkMetric: BenchmarkUnits] = [entriesPerSecond: .count, kilobytesPerSecond: .count]
    for (label, payloadBytes) in [("256B", 256), ("4KB", 4_096)] {
        for batchCount in [1, 16, 256] {
            let fixture = AppendFixture(batchCount: batchCount, payloadBytes: payloadBytes)
            // At most 256 MiB of payload per benchmark, so the 1 MiB batches do not fill the disk on a fast one.
            let iterationsMax = min(10_000, (256 << 20) / (batchCount * payloadBytes))
            Benchmark(
                "SegmentLog.Append_\(batchCount)x\(label)",
                configuration: .init(
                    metrics: metrics, timeUnits: .microseconds, units: units, warmupIterations: 5,
                    maxDuration: .seconds(3), maxIterations: iterationsMax, thresholds: nil,
                    setup: { try fixture.prepare() }, teardown: { fixture.remove() })
            ) { benchmark throws in
                try fixture.appendBatch(benchmark)
            }
        }
        let file = PlainFileFixture(payloadBytes: payloadBytes)
        Benchmark(
            "Disk.PwriteFdatasync_\(label)",
            configuration: .init(
                metrics: [.wallClock, .throughput, kilobytesPerSecond], timeUnits: .microseconds,
                units: [kilobytesPerSecond: .count], warmupIterations: 5, maxDuration: .seconds(3),
                maxIterations: 10_000, thresholds: nil,
                setup: { try file.prepare() }, teardown: { file.remove() })
        ) { benchmark throws in
            try file.appendBlock(benchmark)
        }
    }
    recoveryBenchmark()
}

/// Opens a log holding 1 GiB (2^30 bytes) of entry payload: 1,024 appends of 256 entries of 4 KiB, written once in
/// setup with syncPolicy `.deferred` and one `synchronize()` at the end. Payloads compress about 2x (see
/// `SegmentLogPayloads.halfCompressible`), so about half that is on disk; setup prints the exact size. The files
/// were just written, so they are in the page cache: this is a warm recovery (CRC-32C, LZ4 decompression and
/// index building), not a cold read from the device.
func recoveryBenchmark() {
    let fixture = RecoveryFixture(batchesCount: 1_024, batchCount: 256, payloadBytes: 4_096)
    Benchmark(
        "SegmentLog.Recovery_1GB",
        configuration: .init(
            metrics: [.wallClock, .peakMemoryResident, megabytesPerSecond, diskMegabytesPerSecond],
            timeUnits: .milliseconds, units: [megabytesPerSecond: .count, diskMegabytesPerSecond: .count],
            warmupIterations: 1, maxDuration: .seconds(30), maxIterations: 5, thresholds: nil,
            setup: { try fixture.write() }, teardown: { fixture.remove() })
    ) { benchmark throws in
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        let log = try SegmentLog.open(directory: fixture.directory.path, fileSystem: PosixFileSystem())
        let lastIndex = log.lastIndex
        log.close()
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        precondition(lastIndex == fixture.entriesCount, "recovered \(lastIndex) of \(fixture.entriesCount) entries")
        benchmark.measurement(megabytesPerSecond, megabytes(fixture.payloadBytesTotal, in: elapsed))
        benchmark.measurement(diskMegabytesPerSecond, megabytes(fixture.diskBytes, in: elapsed))
    }
}

/// One benchmark's log: a batch of payloads appended again and again at the next indexes.
final class AppendFixture {
    let batchCount: Int
    let payloadBytes: Int
    let directory = ScratchDirectory(label: "segment-log-append")
    private var log: SegmentLog?
    private var payloads: [[UInt8]] = []

    init(batchCount: Int, payloadBytes: Int) {
        self.batchCount = batchCount
        self.payloadBytes = payloadBytes
    }

    func prepare() throws {
        payloads = SegmentLogPayloads.cloudEvents(count: batchCount, byteCount: payloadBytes)
        log = try SegmentLog.open(directory: directory.create(), fileSystem: PosixFileSystem())
    }

    /// One sample: one `append` (write and fdatasync), with the entries built before measuring.
    func appendBatch(_ benchmark: Benchmark) throws {
        guard let log else { throw SegmentLogError.failed("log not open") }
        let first = log.lastIndex + 1
        let entries = payloads.enumerated().map { offset, payload in
            LogEntry(index: first + UInt64(offset), term: 1, payload: payload)
        }
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        try log.append(entries)
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        benchmark.measurement(entriesPerSecond, perSecond(batchCount, in: elapsed))
        benchmark.measurement(kilobytesPerSecond, perSecond(batchCount * payloadBytes, in: elapsed) / 1_000)
    }

    func remove() {
        log?.close()
        log = nil
        directory.remove()
    }
}
