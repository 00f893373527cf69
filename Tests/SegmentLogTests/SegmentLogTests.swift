import SegmentLog
import TestSupport
import Testing

/// Builds entries `first ..< first + count` of one term with recognisable payloads.
func makeEntries(_ first: UInt64, count: Int, term: UInt64, bytes: Int = 100) -> [LogEntry] {
    (0..<count).map { offset in
        let index = first + UInt64(offset)
        let text = Array("entry \(index) term \(term) ".utf8)
        return LogEntry(index: index, term: term, payload: Array((0..<bytes).map { text[$0 % text.count] }))
    }
}

func openLog(_ fileSystem: FakeFileSystem, _ configure: (inout SegmentLogOptions) -> Void = { _ in }) throws
    -> SegmentLog
{
    var options = SegmentLogOptions()
    configure(&options)
    return try SegmentLog.open(directory: "/log", fileSystem: fileSystem, options: options)
}

func allEntries(_ log: SegmentLog) throws -> [LogEntry] {
    try log.entries(from: log.firstIndex, to: log.lastIndex + 1)
}

@Suite struct SegmentLogTests {
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(data)
        let split = data.withUnsafeBytes { bytes in
            CRC32C.checksum(
                UnsafeRawBufferPointer(rebasing: bytes[300...]),
                continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[..<300])))
        }
        #expect(whole == split)
    }

    @Test func appendedEntriesAndHardStateSurviveReopen() throws {
        let fileSystem = FakeFileSystem()
        var log = try openLog(fileSystem)
        #expect(log.firstIndex == 1 && log.lastIndex == 0)
        try log.append(makeEntries(1, count: 1, term: 1))
        try log.append(
            makeEntries(2, count: 16, term: 1, bytes: 4000), hardState: HardState(term: 1, vote: 2, commit: 5))
        try log.append(makeEntries(18, count: 256, term: 2, bytes: 10))
        let expected = try allEntries(log)
        #expect(expected.count == 273)
        log.close()
        log = try openLog(fileSystem)
        #expect(try allEntries(log) == expected)
        #expect(log.hardState == HardState(term: 1, vote: 2, commit: 5))
        #expect(log.term(at: 17) == 1 && log.term(at: 18) == 2 && log.term(at: 274) == nil)
        let limited = try log.entries(from: 2, to: 18, bytesMax: 9000)
        #expect(limited.map(\.index) == [2, 3])
        #expect(try log.entries(from: 5, to: 5).isEmpty)
    }

    @Test func largeBatchesAreCompressedAndSmallOnesStoredRaw() throws {
        let fileSystem = FakeFileSystem()
        let log = try openLog(fileSystem)
        try log.append(makeEntries(1, count: 1, term: 1, bytes: 256))
        let afterSmall = fileSystem.contents("/log/segment-00000000000000000001.log")!.count
        #expect(afterSmall == 32 + 32 + 12 + 256)
        try log.append(makeEntries(2, count: 64, term: 1, bytes: 1000))
        let afterLarge = fileSystem.contents("/log/segment-00000000000000000001.log")!.count
        #expect(afterLarge - afterSmall < 64 * 1012 / 3)
        log.close()
        #expect(try allEntries(openLog(fileSystem)).count == 65)
    }

    @Test func appendingAtAnEarlierIndexReplacesTheConflictingSuffix() throws {
        let fileSystem = FakeFileSystem()
        var log = try openLog(fileSystem) { $0.segmentBytesMax = 4096 }
        try log.append(makeEntries(1, count: 100, term: 1))
        try log.append(makeEntries(60, count: 3, term: 2))
        #expect(log.lastIndex == 62)
        try log.truncate(after: 61)
        #expect(log.lastIndex == 61)
        log.close()
        log = try openLog(fileSystem) { $0.segmentBytesMax = 4096 }
        let entries = try allEntries(log)
        #expect(entries == makeEntries(1, count: 59, term: 1) + makeEntries(60, count: 2, term: 2))
    }

    @Test func committedEntriesCannotBeReplaced() throws {
        let log = try openLog(FakeFileSystem())
        try log.append(makeEntries(1, count: 10, term: 1), hardState: HardState(term: 1, vote: 1, commit: 8))
        #expect(throws: SegmentLogError.self) { try log.append(makeEntries(8, count: 1, term: 2)) }
        #expect(throws: SegmentLogError.self) { try log.truncate(after: 7) }
        #expect(throws: SegmentLogError.self) { try log.append(makeEntries(12, count: 1, term: 1)) }
        try log.append(makeEntries(9, count: 1, term: 2))
        #expect(log.lastIndex == 9)
    }

    @Test func segmentsRollAndSnapshotsCompactThem() throws {
        let fileSystem = FakeFileSystem()
        let uncompressed: (inout SegmentLogOptions) -> Void = {
            $0.segmentBytesMax = 4096
            $0.compressionBytesMin = .max
        }
        var log = try openLog(fileSystem, uncompressed)
        for batch in 0..<50 { try log.append(makeEntries(UInt64(batch * 10 + 1), count: 10, term: 1)) }
        try log.setHardState(HardState(term: 1, vote: 1, commit: 500))
        let segmentCount = fileSystem.paths.filter { $0.hasSuffix(".log") }.count
        #expect(segmentCount > 10)
        try log.saveSnapshot(LogSnapshot(index: 400, term: 1, data: Array(repeating: 7, count: 5000)))
        try log.compact(through: 400)
        #expect(fileSystem.paths.filter { $0.hasSuffix(".log") }.count < segmentCount / 2)
        #expect(log.firstIndex == 401 && log.lastIndex == 500)
        #expect(throws: SegmentLogError.self) { try log.entries(from: 400, to: 401) }
        log.close()
        log = try openLog(fileSystem, uncompressed)
        #expect(log.firstIndex == 401 && log.lastIndex == 500 && log.term(at: 400) == 1)
        #expect(try allEntries(log) == (0..<10).flatMap { makeEntries(UInt64(401 + $0 * 10), count: 10, term: 1) })
        #expect(try log.loadSnapshot() == LogSnapshot(index: 400, term: 1, data: Array(repeating: 7, count: 5000)))
        #expect(log.hardState.commit == 500)
    }

    @Test func aSnapshotFromTheLeaderReplacesAShorterConflictingLog() throws {
        let fileSystem = FakeFileSystem()
        var log = try openLog(fileSystem)
        try log.append(makeEntries(1, count: 20, term: 1), hardState: HardState(term: 1, vote: 0, commit: 5))
        try log.saveSnapshot(LogSnapshot(index: 50, term: 3, data: [1, 2, 3]))
        #expect(log.firstIndex == 51 && log.lastIndex == 50 && log.term(at: 50) == 3)
        try log.append(makeEntries(51, count: 2, term: 3), hardState: HardState(term: 3, vote: 0, commit: 52))
        log.close()
        log = try openLog(fileSystem)
        #expect(log.firstIndex == 51 && log.lastIndex == 52)
        #expect(try allEntries(log) == makeEntries(51, count: 2, term: 3))
    }
}
