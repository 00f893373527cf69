import SegmentLog
import TestSupport
import Testing

/// Crashes, torn writes, lost unsynced writes, and failing disks.
@Suite struct SegmentLogCrashTests {
    static let segment = "/log/segment-00000000000000000001.log"

    /// A scrambled power loss draws from its generator file by file in path order, so the same seed leaves
    /// the same bytes on two disks holding the same files (a dictionary's order differs between instances).
    @Test func aScrambledPowerLossDependsOnlyOnTheSeed() throws {
        struct Counter: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state ^ (state >> 29)
            }
        }
        let disks = [FakeFileSystem(), FakeFileSystem()]
        for disk in disks {
            try disk.createDirectory("/d")
            for number in 0..<40 {
                let file = try disk.openFile("/d/file-\(number)", create: true)
                let bytes = [UInt8](repeating: UInt8(number + 1), count: 4_096)
                try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            }
            try disk.synchronizeDirectory("/d")
            var random = Counter(state: 7)
            disk.powerLoss(scramblingUnsyncedWith: &random)
        }
        let differing = (0..<40).filter { disks[0].contents("/d/file-\($0)") != disks[1].contents("/d/file-\($0)") }
        #expect(differing.isEmpty, "files that differ: \(differing)")
    }

    /// Two durable batches, then the size of the third batch's record.
    func prepared(_ fileSystem: FakeFileSystem) throws -> (log: SegmentLog, durable: [LogEntry]) {
        let log = try openLog(fileSystem)
        try log.append(makeEntries(1, count: 3, term: 1))
        try log.append(
            makeEntries(4, count: 20, term: 1, bytes: 300), hardState: HardState(term: 1, vote: 1, commit: 2))
        return (log, try allEntries(log))
    }

    @Test func aCrashAtEveryByteOfTheLastBatchKeepsExactlyTheWholeRecords() throws {
        let probe = FakeFileSystem()
        let (probeLog, _) = try prepared(probe)
        let before = probe.bytesWritten
        try probeLog.append(
            makeEntries(24, count: 5, term: 2, bytes: 50), hardState: HardState(term: 2, vote: 3, commit: 20))
        let batchBytes = probe.bytesWritten - before
        for keep in 0...batchBytes {
            for powerLoss in [false, true] {
                let fileSystem = FakeFileSystem()
                let (log, durable) = try prepared(fileSystem)
                fileSystem.crashDuringNextWrite(keepBytes: keep)
                #expect(throws: SegmentLogError.self) {
                    try log.append(
                        makeEntries(24, count: 5, term: 2, bytes: 50),
                        hardState: HardState(term: 2, vote: 3, commit: 20))
                }
                if powerLoss { fileSystem.powerLoss(keepUnsyncedBytes: keep) } else { fileSystem.restart() }
                let recovered = try openLog(fileSystem)
                let entries = try allEntries(recovered)
                // The entries record is written before the hard-state record in the same write.
                let entriesRecordBytes = batchBytes - 56
                if keep >= entriesRecordBytes {
                    #expect(entries == durable + makeEntries(24, count: 5, term: 2, bytes: 50), "keep \(keep)")
                } else {
                    #expect(entries == durable, "keep \(keep) of \(batchBytes)")
                }
                #expect(recovered.hardState.commit == (keep == batchBytes ? 20 : 2), "keep \(keep)")
                // The log is writable again and the next record lands after the cut.
                try recovered.append(makeEntries(recovered.lastIndex + 1, count: 1, term: 2))
                recovered.close()
                #expect(try allEntries(openLog(fileSystem)).count == entries.count + 1, "keep \(keep)")
            }
        }
    }

    @Test func aCrashWhileStartingASegmentLeavesTheLogIntact() throws {
        for keep in 0...32 {
            let fileSystem = FakeFileSystem()
            let log = try openLog(fileSystem) {
                $0.segmentBytesMax = 4096
                $0.compressionBytesMin = .max
            }
            try log.append(makeEntries(1, count: 30, term: 1, bytes: 200))
            let durable = try allEntries(log)
            fileSystem.crashDuringNextWrite(keepBytes: keep, pathContains: "00002")
            #expect(throws: SegmentLogError.self) { try log.append(makeEntries(31, count: 1, term: 1)) }
            fileSystem.restart()
            let recovered = try openLog(fileSystem) { $0.segmentBytesMax = 4096 }
            #expect(try allEntries(recovered) == durable, "keep \(keep)")
            try recovered.append(makeEntries(31, count: 1, term: 1))
            #expect(recovered.lastIndex == 31)
        }
    }

    /// Every flipped bit in synced data is detected and named. The last write is the exception: no later
    /// write vouches that it was synced, so damage there reads as a write torn by power loss and is cut at
    /// the damaged record, leaving what the writes before it stored (and the intact records before the
    /// damage).
    @Test func everyFlippedBitIsDetectedAndNamed() throws {
        let clean = FakeFileSystem()
        let (cleanLog, _) = try prepared(clean)
        cleanLog.close()
        let bytes = clean.contents(Self.segment)!
        let probe = FakeFileSystem()
        let probeLog = try openLog(probe)
        try probeLog.append(makeEntries(1, count: 3, term: 1))
        let lastWriteStart = probe.contents(Self.segment)!.count
        let beforeLastWrite = try allEntries(probeLog)
        for offset in 0..<bytes.count {
            let fileSystem = FakeFileSystem()
            let (_, durable) = try prepared(fileSystem)
            fileSystem.flipBit(path: Self.segment, byteOffset: offset, bit: offset % 8)
            fileSystem.restart()
            do {
                let reopened = try openLog(fileSystem)
                #expect(offset >= lastWriteStart, "bit flip at byte \(offset) was not detected")
                #expect([beforeLastWrite, durable].contains(try allEntries(reopened)), "flip at \(offset)")
                #expect(reopened.hardState == HardState(), "flip at \(offset)")
            } catch {
                guard case .corrupt(let file, let at, _) = error as? SegmentLogError else {
                    Issue.record("flip at \(offset): unexpected \(error)")
                    continue
                }
                #expect(file == "segment-00000000000000000001.log")
                #expect(at <= offset, "flip at \(offset) reported at \(at)")
            }
        }
    }

    /// A power loss during the last write persisted its sectors out of order: the entries record's header
    /// but a zeroed body, and the hard state record after it intact. Nothing written after a sync follows
    /// the damage, so it is a torn write: cut, and the log opens with what the earlier writes stored.
    @Test func aLastWriteWithAZeroedBodyAndAnIntactLaterRecordIsATornWrite() throws {
        let fileSystem = FakeFileSystem()
        let (log, durable) = try prepared(fileSystem)
        let before = fileSystem.contents(Self.segment)!.count
        try log.append(
            makeEntries(24, count: 4, term: 2, bytes: 600), hardState: HardState(term: 2, vote: 3, commit: 20))
        log.close()
        var bytes = fileSystem.contents(Self.segment)!
        // Zero the body of the entries record, keep its header and the hard state record (the last 56 bytes).
        for offset in (before + 32)..<(bytes.count - 56) { bytes[offset] = 0 }
        fileSystem.setContents(Self.segment, bytes)
        fileSystem.restart()
        let reopened = try openLog(fileSystem)
        #expect(try allEntries(reopened) == durable)
        #expect(reopened.hardState == HardState(term: 1, vote: 1, commit: 2))
    }

    @Test func aCorruptSnapshotRefusesToOpen() throws {
        let fileSystem = FakeFileSystem()
        let log = try openLog(fileSystem)
        try log.append(makeEntries(1, count: 10, term: 1), hardState: HardState(term: 1, vote: 1, commit: 10))
        try log.saveSnapshot(LogSnapshot(index: 10, term: 1, data: Array(repeating: 42, count: 3000)))
        log.close()
        let path = "/log/snapshot-00000000000000000010.snap"
        for offset in stride(from: 0, to: fileSystem.contents(path)!.count, by: 7) {
            fileSystem.flipBit(path: path, byteOffset: offset, bit: 3)
            #expect(throws: SegmentLogError.self, "flip at \(offset)") { try openLog(fileSystem) }
            fileSystem.flipBit(path: path, byteOffset: offset, bit: 3)
        }
        #expect(try openLog(fileSystem).loadSnapshot()?.data.count == 3000)
    }

    @Test(arguments: [FakeFileSystem.Operation.write, .synchronize], [Int32(28), 5])
    func aFailingDiskAcknowledgesNothingThatIsNotDurable(operation: FakeFileSystem.Operation, errorNumber: Int32) throws
    {
        let fileSystem = FakeFileSystem()
        let (log, durable) = try prepared(fileSystem)
        fileSystem.failNext(operation, errorNumber: errorNumber)
        do {
            try log.append(makeEntries(24, count: 2, term: 1))
            Issue.record("append succeeded although \(operation) failed")
        } catch {
            guard case .io(let failure) = error as? SegmentLogError else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(failure.errorNumber == errorNumber)
            #expect(failure.description.contains(errorNumber == 28 ? "ENOSPC" : "EIO"))
        }
        // The log refuses to go on: what reached the disk is unknown.
        #expect(throws: SegmentLogError.self) { try log.append(makeEntries(24, count: 1, term: 1)) }
        fileSystem.powerLoss()
        let recovered = try openLog(fileSystem)
        #expect(try allEntries(recovered) == durable)
    }

    @Test(arguments: [0, 20, 200, 700, 10_000])
    func unsyncedWritesAreLostOnPowerLossButTheLogStaysConsistent(keptBytes: Int) throws {
        let fileSystem = FakeFileSystem()
        let log = try openLog(fileSystem) { $0.syncPolicy = .deferred }
        try log.append(makeEntries(1, count: 5, term: 1))
        try log.synchronize()
        try log.append(makeEntries(6, count: 5, term: 1))
        try log.append(makeEntries(11, count: 5, term: 1))
        fileSystem.powerLoss(keepUnsyncedBytes: keptBytes)
        let recovered = try openLog(fileSystem) { $0.syncPolicy = .deferred }
        let entries = try allEntries(recovered)
        // Whole records survive or vanish; never a part of one.
        #expect([5, 10, 15].contains(entries.count), "kept \(entries.count) entries of \(keptBytes) unsynced bytes")
        #expect(entries == makeEntries(1, count: entries.count, term: 1))
        #expect((keptBytes >= 10_000) == (entries.count == 15))
    }
}
