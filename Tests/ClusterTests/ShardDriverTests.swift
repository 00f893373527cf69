import NIOCore
import QueueEngine
import Raft
import SegmentLog
import TestSupport
import Testing

@testable import Cluster

/// The shard driver as a value: request identity across restarts, commands applied once however often
/// they are proposed, the shard's time, and what its snapshots carry.
@Suite struct ShardDriverTests {
    static func send(_ body: String, queue: String = "q") -> Command {
        .sendMessages(queueName: queue, entries: [SendMessageEntry(id: "e", body: body)], senderId: "A", isBatch: false)
    }

    static func sentBody(_ result: CommandResult?) -> String? {
        guard case .sent(let entries) = result, case .success(let sent) = entries.first?.outcome else { return nil }
        return sent.md5OfMessageBody
    }

    static func sentID(_ result: CommandResult?) -> String? {
        guard case .sent(let entries) = result, case .success(let sent) = entries.first?.outcome else { return nil }
        return sent.messageId
    }

    /// The bug a user hit after kill -9: request sequence numbers restart at 1, and the previous run's
    /// entries, replayed at start-up, answered the new run's requests with their own results (another
    /// message's id, or another command's result: a 500).
    @Test func aReplayedEntryOfAnEarlierRunAnswersNoRequestOfThisRun() throws {
        let fileSystem = FakeFileSystem()
        var first = try DriverHarness(fileSystem: fileSystem, incarnation: 11)
        try first.becomeLeader()
        let created = first.submit(.createQueue(name: "q", attributes: [:], tags: [:]))
        let sent = first.submit(Self.send("same"))
        let other = first.submit(Self.send("old"))
        try first.settle()
        #expect(first.answers[created] == .queueCreated(name: "q"))
        #expect(Self.sentBody(first.answers[other]) == "149603e6c03516362a8da23f624db945")
        let oldID = try #require(Self.sentID(first.answers[sent]))
        first.storage.log.close()
        fileSystem.restart()

        // The new run takes the same requests, then others, before it has replayed the old entries.
        var second = try DriverHarness(fileSystem: fileSystem, incarnation: 12)
        second.submit(.createQueue(name: "q", attributes: [:], tags: [:]))
        let sameAgain = second.submit(Self.send("same"))
        let newSend = second.submit(Self.send("new"))
        try second.becomeLeader()
        try second.settle()
        let newID = try #require(Self.sentID(second.answers[sameAgain]))
        #expect(newID != oldID, "the answer is the replayed entry's, not this request's")
        #expect(Self.sentBody(second.answers[newSend]) == "22af645d1859cb5ca6da0c484f1f37ea")
        #expect(second.driver.engine.messageCount == 4)
    }

    /// A command proposed twice (re-sent to a new leader while its first copy was still in the old one's
    /// log) is applied once, on every replica, and answered once.
    @Test func aCommandProposedTwiceAppliesOnce() throws {
        var harness = try DriverHarness(incarnation: 5)
        try harness.becomeLeader()
        harness.submit(.createQueue(name: "q", attributes: [:], tags: [:]))
        try harness.settle()
        let client = harness.submit(Self.send("once"))
        let envelope = try #require(harness.driver.pending.values.first?.envelope)
        try harness.settle()
        // The same envelope arrives again, as a re-proposal forwarded by its node would.
        harness.carryOut(harness.driver.forwarded([envelope], from: 2, now: harness.now))
        try harness.settle()
        #expect(harness.driver.engine.messageCount == 1)
        #expect(Self.sentBody(harness.answers[client]) == "e2eff6c2dafd909df8508f891b385d88")

        // Another node's command, forwarded twice, applies once too.
        let foreign = ProposalEnvelope(
            proposer: 2, incarnation: 99, id: 1, timestampMilliseconds: 0,
            command: LoggedCommand(command: Self.send("theirs"), timestampMilliseconds: 0).encoded())
        harness.carryOut(harness.driver.forwarded([foreign], from: 2, now: harness.now))
        harness.carryOut(harness.driver.forwarded([foreign], from: 2, now: harness.now))
        try harness.settle()
        #expect(harness.driver.engine.messageCount == 2)
    }

    /// Sequences below a proposer's floor were answered or given up: a late copy of one does not apply.
    @Test func theTableForgetsWhatTheFloorCovers() {
        var table = AppliedRequests()
        func envelope(_ id: UInt64, floor: UInt64) -> ProposalEnvelope {
            ProposalEnvelope(
                proposer: 2, incarnation: 7, id: id, sequenceFloor: floor, timestampMilliseconds: 10, command: [])
        }
        let outcomes = [(1, 1), (2, 1), (2, 1), (3, 3)].map { table.admit(envelope($0.0, floor: $0.1)) }
        #expect(outcomes == [true, true, false, true])
        #expect(table.sessions.values.first?.applied == [3])
        let late = table.admit(envelope(1, floor: 3))
        #expect(!late, "below the floor: a late copy")
        for _ in 0..<AppliedRequests.sessionIdleAdvances { table.timeAdvanced() }
        #expect(!table.sessions.isEmpty, "silent for exactly the limit: kept")
        table.timeAdvanced()
        #expect(table.sessions.isEmpty)
    }

    /// Found by `ferry simulate` (seed 22): a leader whose wall clock ran an hour ahead stepped the shard's
    /// time forward, the table forgot every session as idle for 15 minutes, and a command re-proposed to
    /// the new leader applied a second time (the same send stored as two messages). Sessions now age by
    /// the number of time advances in the log, and a stamp an hour later changes nothing.
    @Test func aJumpInTheShardsTimeForgetsNoSession() {
        var table = AppliedRequests()
        let early = ProposalEnvelope(
            proposer: 4, incarnation: 9, id: 97, sequenceFloor: 63, timestampMilliseconds: 1_000, command: [])
        let first = table.admit(early)
        #expect(first)
        table.timeAdvanced()
        var copy = early
        copy.timestampMilliseconds = 1_000 + 3_600_000
        copy.sequenceFloor = 67
        let second = table.admit(copy)
        #expect(!second, "the copy re-proposed to a new leader an hour of shard time later")
    }

    @Test func theTableAndTheEngineTravelInSnapshots() throws {
        var table = AppliedRequests()
        for id in [4, 9, 2] as [UInt64] {
            _ = table.admit(
                ProposalEnvelope(
                    proposer: UInt64(id % 2 + 1), incarnation: 3, id: id, timestampMilliseconds: 50, command: []))
        }
        let engine = QueueEngine(configuration: QueueEngineConfiguration(receiptHandleKey: DriverHarness.key))
        let bytes = ShardSnapshotCodec.encode(applied: table, engineSnapshot: engine.snapshot())
        let decoded = try ShardSnapshotCodec.decode(bytes)
        #expect(decoded.applied == table)
        #expect(Array(decoded.engineSnapshot) == engine.snapshot())
        // A snapshot written before the table existed is the engine's alone.
        let old = try ShardSnapshotCodec.decode(engine.snapshot())
        #expect(old.applied.sessions.isEmpty)
        #expect(Array(old.engineSnapshot) == engine.snapshot())
        for length in 8..<(bytes.count - engine.snapshot().count) {
            #expect(throws: RaftWireError.self) { try ShardSnapshotCodec.decode(Array(bytes.prefix(length))) }
        }
    }

    /// After a restart from a snapshot, a copy of a command the snapshot already covers still does not apply.
    @Test func aRestartFromASnapshotKeepsCommandsAppliedOnce() throws {
        let fileSystem = FakeFileSystem()
        var settings = ShardSettings()
        settings.snapshotEntries = 3
        var first = try DriverHarness(fileSystem: fileSystem, incarnation: 21, settings: settings)
        try first.becomeLeader()
        first.submit(.createQueue(name: "q", attributes: [:], tags: [:]))
        try first.settle()
        first.submit(Self.send("a"))
        let envelope = try #require(first.driver.pending.values.first?.envelope)
        try first.settle()
        for index in 0..<4 {
            first.submit(.tagQueue(name: "q", tags: ["k": "\(index)"]))
            try first.settle()
        }
        #expect(first.driver.snapshotIndex > 0)
        first.storage.log.close()
        fileSystem.restart()
        var second = try DriverHarness(fileSystem: fileSystem, incarnation: 22, settings: settings)
        try second.becomeLeader()
        #expect(second.driver.engine.messageCount == 1)
        second.carryOut(second.driver.forwarded([envelope], from: 2, now: second.now))
        try second.settle()
        #expect(second.driver.engine.messageCount == 1)
    }

    /// A wall-clock step on the leader moves nothing: the shard's time advances by the monotonic clock.
    @Test func aWallClockStepDoesNotMoveTheShardsTime() throws {
        var harness = try DriverHarness(incarnation: 1)
        try harness.becomeLeader()
        let start = harness.driver.nextStamp(now: harness.now)
        harness.wall += 3_600_000
        harness.monotonic += 250
        #expect(harness.driver.nextStamp(now: harness.now) == start + 250)
        harness.wall -= 7_200_000
        harness.monotonic += 250
        #expect(harness.driver.nextStamp(now: harness.now) == start + 500)
        // A stale reference (a long gap without stamps) advances by the bound at most.
        harness.monotonic += 3_600_000
        #expect(harness.driver.nextStamp(now: harness.now) == start + 500 + ShardSettings().stampAdvanceMaxMilliseconds)
    }

    /// A new leader whose clock lags the shard's time does not freeze it.
    @Test func aLaggingLeaderClockDoesNotFreezeTime() throws {
        var harness = try DriverHarness(incarnation: 1)
        try harness.becomeLeader()
        harness.driver.observeStamp(harness.wall + 60_000, now: harness.now)
        harness.monotonic += 400
        #expect(harness.driver.nextStamp(now: harness.now) == harness.wall + 60_400)
    }

    /// Under `--fsync batch` or `never`, a new term and vote are still synced before anything is sent: a
    /// power loss must not let the node vote again in the same term.
    @Test func termAndVoteSurvivePowerLossWhateverTheSyncPolicy() throws {
        let fileSystem = FakeFileSystem()
        var harness = try DriverHarness(fileSystem: fileSystem, incarnation: 1, syncPolicy: .deferred)
        try harness.becomeLeader()
        let term = harness.driver.raft.term
        #expect(term >= 1)
        fileSystem.powerLoss()
        let reopened = try ShardStorage(log: SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem)).load()
        #expect(reopened.hardState.term == term)
        #expect(reopened.hardState.votedFor == 1)
    }

    /// The write that holds a vote is followed by another synced write, so damage found in it later is
    /// corruption (the replica repairs and does not vote) rather than a torn last write cut away with the
    /// vote (after which the node could vote again in the same term).
    @Test func damageToTheWriteThatHoldsAVoteIsNotTakenForATornWrite() throws {
        let fileSystem = FakeFileSystem()
        let storage = ShardStorage(log: try SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem))
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        let before = try #require(fileSystem.contents(segment)).count
        var raft = Raft(configuration: RaftConfiguration(id: 2), membership: Membership(voters: [1, 2, 3]), seed: 1)
        raft.step(Message(kind: .vote, from: 1, to: 2, term: 4))
        let ready = raft.ready()
        #expect(ready.hardState?.votedFor == 1)
        try storage.persist(ShardReady(ready: ready, sendsBeforePersisting: [], termOrVoteChanged: true))
        storage.log.close()
        fileSystem.flipBit(path: segment, byteOffset: before + 12, bit: 3)
        fileSystem.restart()
        let opened = try ShardStorage.open(
            directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions(), peersCanRepair: true)
        #expect(opened.damage != nil)
        #expect(opened.repair)
    }

    /// A salvage may cut the log records of the newest term and vote (here a damaged segment header drops
    /// the whole segment; found by `ferry chaos`). The term file keeps them: a repairing replica whose
    /// term went back could acknowledge a deposed leader's appends and help it commit over entries that a
    /// newer leader committed with this replica's help.
    @Test func aSalvageThatCutsTheNewestTermKeepsItFromTheTermFile() throws {
        let fileSystem = FakeFileSystem()
        let storage = ShardStorage(log: try SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem))
        var raft = Raft(configuration: RaftConfiguration(id: 2), membership: Membership(voters: [1, 2, 3]), seed: 1)
        for (term, candidate) in [(UInt64(4), UInt64(1)), (6, 3)] {
            raft.step(Message(kind: .vote, from: candidate, to: 2, term: term))
            let ready = raft.ready()
            try storage.persist(ShardReady(ready: ready, sendsBeforePersisting: [], termOrVoteChanged: true))
        }
        #expect(storage.log.hardState.term == 6 && storage.log.hardState.vote == 3)
        storage.log.close()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        fileSystem.flipBit(path: segment, byteOffset: 2, bit: 1)
        fileSystem.restart()
        let opened = try ShardStorage.open(
            directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions(), peersCanRepair: true)
        #expect(opened.repair && opened.damage != nil)
        #expect(opened.storage.log.hardState.term < 6, "the log lost its newest term")
        let loaded = try opened.storage.load()
        #expect(loaded.hardState.term == 6 && loaded.hardState.votedFor == 3)
        // A damaged term file is ignored: the log's term stands.
        let termFile = try #require(fileSystem.paths.first { $0.hasSuffix("/" + ShardStorage.termFileName) })
        fileSystem.flipBit(path: termFile, byteOffset: 3, bit: 0)
        #expect(ShardStorage.readTermFile(directory: "/shard-0", fileSystem: fileSystem) == nil)
    }

    /// Repair mode outlives a restart: the marker is synced before the salvage cuts the log, so a crash
    /// during repair (or during the salvage) does not bring the node back voting with a truncated log; it
    /// is removed when the replica has caught up. Before, a restart opened the already-salvaged log cleanly
    /// and the node voted at once.
    @Test func repairModeSurvivesACrashUntilTheReplicaCaughtUp() throws {
        let fileSystem = FakeFileSystem()
        var harness = try DriverHarness(fileSystem: fileSystem, incarnation: 1)
        try harness.becomeLeader()
        for index in 0..<3 { harness.submit(Self.send("m\(index)")) }
        try harness.settle()
        harness.storage.log.close()
        fileSystem.restart()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        // Damage in the first record, which later synced writes vouch for: corruption, not a torn write.
        fileSystem.flipBit(path: segment, byteOffset: 40, bit: 3)

        let salvaged = try ShardStorage.open(
            directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions(), peersCanRepair: true)
        #expect(salvaged.repair && salvaged.damage != nil)
        salvaged.storage.log.close()
        fileSystem.powerLoss()

        let restarted = try ShardStorage.open(
            directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions(), peersCanRepair: true)
        #expect(restarted.damage == nil, "the salvage already cut the damage")
        #expect(restarted.repair, "a crash during repair restarts in repair mode")
        try restarted.storage.repairFinished()
        restarted.storage.log.close()
        fileSystem.powerLoss()

        let repaired = try ShardStorage.open(
            directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions(), peersCanRepair: true)
        #expect(!repaired.repair)
    }
}
