import Benchmark
import Foundation
import SegmentLog

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A directory under the system's temporary directory with a fresh name, created on demand and removed with all
/// it holds.
final class ScratchDirectory {
    let label: String
    private(set) var path = ""

    init(label: String) { self.label = label }

    /// Creates a new, empty directory and returns its path.
    func create() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
        return path
    }

    func remove() {
        guard !path.isEmpty else { return }
        try? FileManager.default.removeItem(atPath: path)
        path = ""
    }
}

/// A plain file appended to with pwrite and fdatasync: the disk's own rate, without the log.
final class PlainFileFixture {
    let payloadBytes: Int
    let directory = ScratchDirectory(label: "pwrite")
    private var descriptor: Int32 = -1
    private var size = 0
    private var block: [UInt8] = []

    init(payloadBytes: Int) { self.payloadBytes = payloadBytes }

    func prepare() throws {
        block = SegmentLogPayloads.cloudEvents(count: 1, byteCount: payloadBytes)[0]
        let path = try directory.create() + "/data"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileSystemError(operation: "open", path: path, errorNumber: errno) }
        size = 0
    }

    /// One sample: one pwrite of the block at the end of the file, then fdatasync.
    func appendBlock(_ benchmark: Benchmark) throws {
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let start = clock.now
        let written = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress!, $0.count, off_t(size)) }
        guard written == block.count else {
            throw FileSystemError(operation: "pwrite", path: directory.path, errorNumber: errno)
        }
        guard synchronizeData(descriptor) == 0 else {
            throw FileSystemError(operation: "fdatasync", path: directory.path, errorNumber: errno)
        }
        let elapsed = start.duration(to: clock.now)
        benchmark.stopMeasurement()
        size += written
        benchmark.measurement(kilobytesPerSecond, perSecond(payloadBytes, in: elapsed) / 1_000)
    }

    func remove() {
        if descriptor >= 0 { _ = close(descriptor) }
        descriptor = -1
        directory.remove()
    }
}

/// A log of `batchesCount` appends of `batchCount` entries, written once for the recovery benchmark.
final class RecoveryFixture {
    let batchesCount: Int
    let batchCount: Int
    let payloadBytes: Int
    let directory = ScratchDirectory(label: "segment-log-recovery")
    /// The bytes of the segment files as written.
    private(set) var diskBytes = 0

    init(batchesCount: Int, batchCount: Int, payloadBytes: Int) {
        self.batchesCount = batchesCount
        self.batchCount = batchCount
        self.payloadBytes = payloadBytes
    }

    var entriesCount: UInt64 { UInt64(batchesCount * batchCount) }
    var payloadBytesTotal: Int { batchesCount * batchCount * payloadBytes }

    func write() throws {
        let payloads = SegmentLogPayloads.halfCompressible(count: batchCount, byteCount: payloadBytes)
        var options = SegmentLogOptions()
        options.syncPolicy = .deferred
        let log = try SegmentLog.open(directory: directory.create(), fileSystem: PosixFileSystem(), options: options)
        defer { log.close() }
        for batch in 0..<batchesCount {
            let first = UInt64(batch * batchCount) + 1
            try log.append(
                payloads.enumerated().map { LogEntry(index: first + UInt64($0.offset), term: 1, payload: $0.element) })
        }
        try log.synchronize()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        diskBytes = try names.reduce(0) { total, name in
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/" + name)
            return total + ((attributes[.size] as? Int) ?? 0)
        }
        let ratio = Double(payloadBytesTotal) / Double(diskBytes)
        print("SegmentLog recovery: \(payloadBytesTotal) payload bytes in \(diskBytes) bytes on disk, ratio \(ratio)")
    }

    func remove() { directory.remove() }
}

/// Entry payloads for the log benchmarks.
enum SegmentLogPayloads {
    /// `count` consecutive `byteCount`-byte slices of a CloudEvents JSON stream (one event a line, cut wherever a
    /// slice ends): what a batch of small JSON messages looks like to LZ4, about 3.9x compressible at 64 KB.
    static func cloudEvents(count: Int, byteCount: Int) -> [[UInt8]] {
        let stream = CloudEventsSample.stream(byteCount: count * byteCount)
        return (0..<count).map { Array(stream[($0 * byteCount)..<(($0 + 1) * byteCount)]) }
    }

    /// `count` JSON-ish payloads of `byteCount` bytes that LZ4 compresses about 2x: a third is an `attachment`
    /// field of random base64 (incompressible, and different in every payload), the rest CloudEvents JSON, cut at
    /// the size.
    static func halfCompressible(count: Int, byteCount: Int) -> [[UInt8]] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var generator = SplitMix64(seed: 0x5EED)
        let events = CloudEventsSample.stream(byteCount: count * byteCount)
        return (0..<count).map { position in
            var payload = Array(#"{"attachment":""#.utf8)
            for _ in 0..<(byteCount / 3) { payload.append(alphabet[Int(generator.next() & 63)]) }
            payload += #"","events":["#.utf8
            payload += events[(position * byteCount)..<((position + 1) * byteCount)]
            return Array(payload.prefix(byteCount))
        }
    }
}

/// SplitMix64: a small seeded generator, so every run writes the same bytes.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// `count` things in `duration`, a second (rounded; a zero duration counts as one nanosecond).
func perSecond(_ count: Int, in duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    let nanoseconds = max(1, Double(seconds) * 1e9 + Double(attoseconds) / 1e9)
    return Int((Double(count) / nanoseconds * 1e9).rounded())
}

/// fdatasync where there is one (Linux), else fsync.
func synchronizeData(_ descriptor: Int32) -> Int32 {
    #if canImport(Glibc)
        fdatasync(descriptor)
    #else
        fsync(descriptor)
    #endif
}
