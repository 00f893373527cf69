import Raft
import SegmentLog
import TestSupport
import Testing

@testable import Cluster

@Suite struct ShardStorageTests {
    @Test func persistedStateComesBackAfterReopening() throws {
        let fileSystem = FakeFileSystem()
        let log = try SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem)
        let storage = ShardStorage(log: log)
        let entries = (1...20).map { Entry(term: 1 + UInt64($0) / 10, index: UInt64($0), data: Array("e\($0)".utf8)) }
        try storage.persist(snapshot: nil, entries: entries, hardState: RaftHardState(term: 3, votedFor: 2, commit: 15))
        // A conflicting suffix from a new leader replaces entries 18…20.
        let replacement = [Entry(term: 4, index: 18, kind: .membershipChange, data: [9])]
        try storage.persist(
            snapshot: nil, entries: replacement, hardState: RaftHardState(term: 4, votedFor: 1, commit: 17))
        log.close()
        let reopened = try ShardStorage(log: SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem)).load()
        #expect(reopened.hardState == RaftHardState(term: 4, votedFor: 1, commit: 17))
        #expect(reopened.entries == Array(entries.prefix(17)) + replacement)
        #expect(reopened.snapshot == nil)
    }

    @Test func aSnapshotFromTheLeaderReplacesTheWholeLog() throws {
        let fileSystem = FakeFileSystem()
        let log = try SegmentLog.open(directory: "/shard-1", fileSystem: fileSystem)
        let storage = ShardStorage(log: log)
        let entries = (1...30).map { Entry(term: 2, index: UInt64($0), data: [UInt8($0)]) }
        try storage.persist(snapshot: nil, entries: entries, hardState: RaftHardState(term: 2, votedFor: 1, commit: 10))
        let membership = Membership(voters: [1, 2, 3], learners: [4])
        let snapshot = Snapshot(index: 25, term: 3, membership: membership, data: Array("engine".utf8))
        try storage.persist(snapshot: snapshot, entries: [], hardState: RaftHardState(term: 3, votedFor: 0, commit: 25))
        log.close()
        let reopened = try ShardStorage(log: SegmentLog.open(directory: "/shard-1", fileSystem: fileSystem)).load()
        #expect(reopened.snapshot == snapshot)
        #expect(reopened.entries.isEmpty, "entries 26…30 of term 2 conflict with the snapshot's history")
        #expect(reopened.hardState.commit == 25)
    }
}
