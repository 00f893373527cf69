import Foundation
import TestSupport
import Testing

@testable import SegmentLog

// A seeded, replayable model test: random operations, crashes, power losses, disk faults and bit flips
// against a simulated disk, with the log compared to an in-memory model after every step.
//
// `FERRY_LOG_SEED=<n>` runs exactly seed n; `FERRY_LOG_SEEDS=<count>` runs seeds 0 ..< count.

@Suite struct SegmentLogModelTests {
    @Test func randomOperationsMatchTheModel() {
        let seeds = ModelSeeds.selected
        let started = ContinuousClock.now
        let results = ModelResultCollector.run(seeds)
        var statistics = ModelStatistics()
        for result in results { statistics.add(result.statistics) }
        let failures = results.compactMap(\.failure)
        for failure in failures.prefix(3) {
            print(failure)
            Issue.record("\(failure)")
        }
        if failures.count > 3 { Issue.record("\(failures.count - 3) more seeds failed") }
        print("SegmentLogModelTests: \(seeds.count) seeds in \(ContinuousClock.now - started): \(statistics)")
        // The generator must reach every path it claims to test.
        guard seeds.count >= 100, failures.isEmpty else { return }
        #expect(statistics.conflictingAppends > 0, "\(statistics)")
        #expect(statistics.compressibleBatches > 0, "\(statistics)")
        #expect(statistics.segmentsCreated > 0, "\(statistics)")
        #expect(statistics.segmentsRemoved > 0, "\(statistics)")
        #expect(statistics.snapshots > 0 && statistics.installs > 0, "\(statistics)")
        #expect(statistics.powerLossesThatLostWrites > 0, "\(statistics)")
        #expect(statistics.faultsThatLeftAPartialOperation > 0, "\(statistics)")
        #expect(statistics.bitFlipsDetected > 0, "\(statistics)")
    }
}

/// Runs seeds on threads of its own, one per core: the seeds are independent (each has its own fake disk),
/// and the cooperative pool stays free for other tests.
///
/// `@unchecked Sendable`: every access to `results` and `finishedWorkers` holds `condition`.
final class ModelResultCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [ModelRunResult] = []
    private var finishedWorkers = 0

    static func run(_ seeds: [UInt64]) -> [ModelRunResult] {
        let collector = ModelResultCollector()
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, seeds.count))
        for worker in 0..<workers {
            let thread = Thread {
                for position in stride(from: worker, to: seeds.count, by: workers) {
                    let run = ModelRun(seed: seeds[position], operations: ModelSeeds.operationsPerSeed)
                    print("SegmentLogModelTests: seed \(run.seed), \(run.description)")
                    let failure = run.run()
                    collector.add(ModelRunResult(seed: run.seed, failure: failure, statistics: run.statistics))
                }
                collector.workerFinished()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        return collector.results(afterWorkers: workers).sorted { $0.seed < $1.seed }
    }

    private func add(_ result: ModelRunResult) {
        condition.lock()
        results.append(result)
        condition.unlock()
    }

    private func workerFinished() {
        condition.lock()
        finishedWorkers += 1
        condition.signal()
        condition.unlock()
    }

    private func results(afterWorkers count: Int) -> [ModelRunResult] {
        condition.lock()
        defer { condition.unlock() }
        while finishedWorkers < count { condition.wait() }
        return results
    }
}

/// How one seed went.
struct ModelRunResult: Sendable {
    var seed: UInt64
    /// The report of the first failed check, or nil.
    var failure: String?
    var statistics: ModelStatistics
}

// MARK: Regressions the model test found

extension SegmentLogModelTests {
    static func options(_ policy: LogSyncPolicy) -> SegmentLogOptions {
        var options = SegmentLogOptions()
        options.syncPolicy = policy
        options.segmentBytesMax = 4096
        options.compressionBytesMin = .max
        return options
    }

    static func entries(_ indexes: ClosedRange<UInt64>, term: UInt64) -> [LogEntry] {
        indexes.map {
            LogEntry(index: $0, term: term, payload: Array(repeating: UInt8(truncatingIfNeeded: $0), count: 300))
        }
    }

    /// A crash leaves written but unsynced records in the page cache; reopened, the log served them but
    /// `unsyncedBytes` was 0, so the next segment started without syncing the old one. After
    /// `synchronize()` and a power loss, the old segment lost its tail while the new one survived: a gap,
    /// and the log refused to open.
    @Test func aSegmentStartedAfterACrashNeverOutlivesTheOldSegmentsTail() throws {
        let fileSystem = FakeFileSystem()
        var log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.deferred))
        try log.append(Self.entries(1...5, term: 1))
        try log.synchronize()
        try log.append(Self.entries(6...20, term: 1))
        fileSystem.restart()
        log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.deferred))
        #expect(log.lastIndex == 20)
        try log.append(Self.entries(21...21, term: 1))
        #expect(fileSystem.paths.contains("/log/segment-00000000000000000002.log"))
        try log.synchronize()
        fileSystem.powerLoss()
        log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.deferred))
        #expect(try log.entries(from: 1, to: 22) == Self.entries(1...21, term: 1))
    }

    /// A segment whose directory entry was never synced (the sync failed, then the process crashed) was
    /// reopened and appended to with fdatasync; a power loss then took the whole file, and with it
    /// acknowledged entries.
    @Test func aSegmentFoundAtOpenKeepsItsDirectoryEntryThroughAPowerLoss() throws {
        let fileSystem = FakeFileSystem()
        var log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.always))
        try log.append(Self.entries(1...20, term: 1))
        fileSystem.failNext(.synchronizeDirectory, errorNumber: 5)
        #expect(throws: SegmentLogError.self) { try log.append(Self.entries(21...21, term: 1)) }
        fileSystem.restart()
        log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.always))
        try log.append(Self.entries(21...21, term: 1))
        fileSystem.powerLoss()
        log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.always))
        #expect(log.lastIndex == 21)
    }

    /// With deferred syncs, `saveSnapshot` made the snapshot durable while the entries and hard state it
    /// follows were not: after a power loss the snapshot (11, term 2) sat in front of stale entries of
    /// term 1 and a commit index below it.
    @Test func aSavedSnapshotNeverReachesTheDiskAheadOfTheLog() throws {
        let fileSystem = FakeFileSystem()
        var log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.deferred))
        try log.append(Self.entries(1...15, term: 1), hardState: HardState(term: 1, vote: 1, commit: 5))
        try log.synchronize()
        try log.append(Self.entries(6...12, term: 2), hardState: HardState(term: 2, vote: 1, commit: 12))
        try log.saveSnapshot(LogSnapshot(index: 11, term: 2, data: [1, 2, 3]))
        fileSystem.powerLoss()
        log = try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: Self.options(.deferred))
        #expect(log.snapshotIndex == 11 && log.snapshotTerm == 2)
        #expect(log.lastIndex == 12 && log.term(at: 12) == 2)
        #expect(log.hardState == HardState(term: 2, vote: 1, commit: 12))
    }
}

// MARK: Seeds and randomness

/// The seeds the model test runs, from the environment or the default set.
enum ModelSeeds {
    static let defaultCount: UInt64 = 200
    static let operationsPerSeed = 300

    static var selected: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["FERRY_LOG_SEED"], let seed = UInt64(text) { return [seed] }
        let count = environment["FERRY_LOG_SEEDS"].flatMap { UInt64($0) } ?? defaultCount
        return Array(0..<count)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and the same sequence on every platform.
struct ModelRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    mutating func value(in range: ClosedRange<UInt64>) -> UInt64 {
        let width = range.upperBound - range.lowerBound
        return width == .max ? next() : range.lowerBound + next() % (width + 1)
    }

    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(value(in: 0...UInt64(range.upperBound - range.lowerBound)))
    }

    mutating func percent(_ chance: Int) -> Bool { next() % 100 < UInt64(chance) }

    mutating func element<Element>(_ choices: [Element]) -> Element { choices[int(in: 0...choices.count - 1)] }

    /// Up to `countMax` bytes, mostly a few dozen; half of them highly compressible, the rest noise.
    mutating func bytes(countMax: Int) -> [UInt8] {
        let roll = int(in: 0...99)
        let count = int(in: 0...(roll < 75 ? min(32, countMax) : roll < 95 ? min(400, countMax) : countMax))
        if percent(50) {
            let pattern = (0..<int(in: 1...4)).map { _ in UInt8(truncatingIfNeeded: next()) }
            return (0..<count).map { pattern[$0 % pattern.count] }
        }
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < count {
                let word = next()
                withUnsafeBytes(of: word) { wordBytes in
                    let length = min(8, count - offset)
                    buffer.baseAddress!.advanced(by: offset).copyMemory(from: wordBytes.baseAddress!, byteCount: length)
                    offset += length
                }
            }
        }
        return bytes
    }
}

// MARK: The model

/// What the log must read as: the snapshot, the entries after it, and the hard state.
