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

    /// The group's first voters are recorded once, survive a power loss, and are what a restart replays
    /// membership changes onto, whatever the placement says by then.
    @Test func theGenesisVotersAreRecordedOnceAndKept() throws {
        let fileSystem = FakeFileSystem()
        let storage = ShardStorage(log: try SegmentLog.open(directory: "/shard-2", fileSystem: fileSystem))
        #expect(try storage.genesisVoters(recording: [1, 2, 3], persisted: storage.load()) == [1, 2, 3])
        storage.log.close()
        fileSystem.powerLoss()
        let reopened = ShardStorage(log: try SegmentLog.open(directory: "/shard-2", fileSystem: fileSystem))
        #expect(try reopened.genesisVoters(recording: [3, 4, 5], persisted: reopened.load()) == [1, 2, 3])
        #expect(fileSystem.contents("/shard-2/GENESIS")?.count == 4 + 3 * 8 + 4)
    }

    @Test func aDamagedGenesisFileIsRefusedUnlessASnapshotHoldsTheMembership() throws {
        let fileSystem = FakeFileSystem()
        let storage = ShardStorage(log: try SegmentLog.open(directory: "/shard-3", fileSystem: fileSystem))
        _ = try storage.genesisVoters(recording: [1, 2, 3], persisted: storage.load())
        fileSystem.flipBit(path: "/shard-3/GENESIS", byteOffset: 5, bit: 0)
        #expect(throws: ClusterError.self) {
            try storage.genesisVoters(recording: [1, 2, 3], persisted: storage.load())
        }
        var withSnapshot = try storage.load()
        withSnapshot.snapshot = Snapshot(index: 4, term: 1, membership: Membership(voters: [2, 3, 4]), data: [])
        #expect(try storage.genesisVoters(recording: [2, 3, 4], persisted: withSnapshot) == [2, 3, 4])
        // A file cut short is damaged too, not read as fewer voters.
        let bytes = try #require(fileSystem.contents("/shard-3/GENESIS"))
        fileSystem.setContents("/shard-3/GENESIS", Array(bytes.prefix(12)))
        #expect(throws: ClusterError.self) {
            try storage.genesisVoters(recording: [1, 2, 3], persisted: storage.load())
        }
    }

    @Test func genesisBytesRoundTripAndNonsenseIsRefused() {
        #expect(ShardStorage.decodeGenesis(ShardStorage.encodeGenesis([7, 1, 3])) == [1, 3, 7])
        #expect(ShardStorage.decodeGenesis([0, 0, 0, 0]) == nil)
        #expect(ShardStorage.decodeGenesis([1, 0, 0, 0] + [UInt8](repeating: 0, count: 8)) == nil)
        #expect(
            ShardStorage.decodeGenesis([2, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0]) == nil)
        #expect(ShardStorage.decodeGenesis([200, 0, 0, 0]) == nil)
    }
}
