import SegmentLog
import TestSupport
import Testing

/// Opening with `salvageDamage`: what is valid before the damage is kept, nothing after it is served.
@Suite struct SegmentLogSalvageTests {
    static let first = "/log/segment-00000000000000000001.log"

    /// Three batches in a first segment, then two more segments of two batches each.
    func prepared(_ fileSystem: FakeFileSystem) throws -> [[LogEntry]] {
        let log = try openLog(fileSystem) { $0.segmentBytesMax = 4_096 }
        var batches: [[LogEntry]] = []
        var next: UInt64 = 1
        for batch in 0..<9 {
            let entries = makeEntries(next, count: 5, term: 1, bytes: 150)
            try log.append(entries, hardState: HardState(term: 1, vote: 1, commit: next + 4))
            batches.append(entries)
            next += 5
            _ = batch
        }
        log.close()
        return batches
    }

    /// After a restart the damaged log is refused, then opened with salvage: the log and the damage found.
    func reopenedWithSalvage(_ fileSystem: FakeFileSystem) throws -> (SegmentLog, file: String, offset: Int) {
        fileSystem.restart()
        #expect(throws: SegmentLogError.self) { try openLog(fileSystem) { $0.segmentBytesMax = 4_096 } }
        let log = try openLog(fileSystem) {
            $0.segmentBytesMax = 4_096
            $0.salvageDamage = true
        }
        guard case .corrupt(let file, let offset, _)? = log.salvagedDamage else {
            throw SegmentLogError.failed("no damage reported")
        }
        return (log, file, offset)
    }

    @Test func damageInAnEarlierSegmentKeepsTheValidPrefixAndSetsLaterSegmentsAside() throws {
        let fileSystem = FakeFileSystem()
        let batches = try prepared(fileSystem)
        let names = try fileSystem.contentsOfDirectory("/log").filter { $0.hasPrefix("segment-") }.sorted()
        #expect(names.count >= 2, "\(names)")
        let firstBytes = fileSystem.contents(Self.first)!.count
        // Damage the last record of the first segment.
        fileSystem.flipBit(path: Self.first, byteOffset: firstBytes - 20, bit: 3)
        let (log, file, offset) = try reopenedWithSalvage(fileSystem)
        #expect(file == "segment-00000000000000000001.log")
        #expect(offset < firstBytes - 20)
        let kept = try allEntries(log)
        #expect(!kept.isEmpty)
        #expect(kept == Array(batches.joined().prefix(kept.count)), "a prefix of what was written")
        #expect(kept.count < 45)
        let after = try fileSystem.contentsOfDirectory("/log")
        #expect(after.filter { $0.hasSuffix(".damaged") }.count == names.count - 1)
        // The salvaged log takes new appends where it ends, and reopens cleanly.
        let next = log.lastIndex + 1
        try log.append(makeEntries(next, count: 2, term: 2), hardState: HardState(term: 2, vote: 3, commit: next))
        log.close()
        fileSystem.restart()
        let reopened = try openLog(fileSystem) { $0.segmentBytesMax = 4_096 }
        #expect(reopened.lastIndex == next + 1)
        #expect(reopened.salvagedDamage == nil)
    }

    /// A flipped bit in a segment's header (found by `ferry chaos`: the node refused to start) is damage
    /// like any other: the segments before it are kept whole, it and the later ones are set aside.
    @Test(arguments: [0, 1]) func aDamagedSegmentHeaderSetsItAndLaterSegmentsAside(damaged: Int) throws {
        let fileSystem = FakeFileSystem()
        let batches = try prepared(fileSystem)
        let names = try fileSystem.contentsOfDirectory("/log").filter { $0.hasPrefix("segment-") }.sorted()
        #expect(names.count >= 2, "\(names)")
        let keptBefore = try {
            guard damaged > 0 else { return 0 }
            let intact = try openLog(fileSystem) { $0.segmentBytesMax = 4_096 }
            defer { intact.close() }
            return try allEntries(intact).count
        }()
        fileSystem.flipBit(path: "/log/" + names[damaged], byteOffset: 2, bit: 5)
        let (log, file, offset) = try reopenedWithSalvage(fileSystem)
        #expect(file == names[damaged] && offset == 0)
        let kept = try allEntries(log)
        #expect(kept == Array(batches.joined().prefix(kept.count)), "a prefix of what was written")
        #expect(damaged == 0 ? kept.isEmpty : !kept.isEmpty && kept.count < keptBefore)
        let after = try fileSystem.contentsOfDirectory("/log")
        #expect(after.filter { $0.hasSuffix(".damaged") }.count == names.count - damaged)
        let next = log.lastIndex + 1
        try log.append(makeEntries(next, count: 2, term: 2), hardState: HardState(term: 2, vote: 3, commit: next))
        log.close()
        fileSystem.restart()
        let reopened = try openLog(fileSystem) { $0.segmentBytesMax = 4_096 }
        #expect(reopened.lastIndex == next + 1)
        #expect(reopened.salvagedDamage == nil)
    }

    /// A segment that is not the last, cut short at a record boundary, replays as if it simply ended; the
    /// gap shows only as the next segment starting past the snapshot (found by the simulator, seed 130208:
    /// the first segment cut to its header, and the node refused to start instead of repairing). The
    /// segments from the first stored entry on are set aside and the log continues from its snapshot.
    @Test func aSegmentCutAtARecordBoundarySetsTheEntriesAfterTheGapAside() throws {
        let fileSystem = FakeFileSystem()
        _ = try prepared(fileSystem)
        let names = try fileSystem.contentsOfDirectory("/log").filter { $0.hasPrefix("segment-") }.sorted()
        #expect(names.count >= 2, "\(names)")
        let path = "/log/" + names[0]
        fileSystem.setContents(path, Array(fileSystem.contents(path)!.prefix(32)))
        let (log, file, _) = try reopenedWithSalvage(fileSystem)
        #expect(file == names[0])
        let kept = try allEntries(log)
        #expect(kept.isEmpty && log.lastIndex == 0, "nothing after the gap is served")
        let after = try fileSystem.contentsOfDirectory("/log")
        #expect(after.filter { $0.hasSuffix(".damaged") }.count == names.count - 1, "\(after)")
        #expect(log.hardState.term == 1 && log.hardState.vote == 1 && log.hardState.commit == 0)
        try log.append(makeEntries(1, count: 2, term: 2), hardState: HardState(term: 2, vote: 3, commit: 1))
        log.close()
        fileSystem.restart()
        let reopened = try openLog(fileSystem) { $0.segmentBytesMax = 4_096 }
        #expect(reopened.lastIndex == 2)
        #expect(reopened.salvagedDamage == nil)
    }

    @Test func anIntactLogReportsNoDamage() throws {
        let fileSystem = FakeFileSystem()
        _ = try prepared(fileSystem)
        fileSystem.restart()
        let log = try openLog(fileSystem) {
            $0.segmentBytesMax = 4_096
            $0.salvageDamage = true
        }
        #expect(log.salvagedDamage == nil)
        #expect(log.lastIndex == 45)
    }
}
