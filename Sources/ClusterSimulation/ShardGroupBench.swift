import Cluster
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import TestSupport

/// One shard's group of real `ShardDriver`s over real `ShardStorage`s on simulated disks, their frames
/// delivered in memory at once: the driver's hot path without threads, sockets or fsyncs, for the
/// package-benchmark suite (`Benchmarks/`). A request goes to the leader, is proposed, persisted,
/// replicated (encoded and decoded as on the wire), committed, applied and answered.
public struct ShardGroupBench {
    struct Member {
        var storage: ShardStorage
        var driver: ShardDriver
    }

    /// Frames and ticks the group may take to answer one request before the bench gives up.
    static let roundsMax = 10_000

    var members: [NodeID: Member] = [:]
    var inFlight: [(from: NodeID, to: NodeID, frame: PeerFrame)] = []
    var answers: [ClientHandle: CommandResult] = [:]
    var nextClient: ClientHandle = 1
    var monotonic: Int64 = 10_000
    public let queueName = "bench"
    /// The leader requests go to.
    public private(set) var leader: NodeID = 0

    /// A group of `replicas` drivers with a leader elected and a standard queue created.
    public init(replicas: Int = 3) throws {
        let voters = Set((1...replicas).map { NodeID($0) })
        var settings = ShardSettings()
        settings.snapshotEntries = 1_000_000
        for id in voters.sorted() {
            let fileSystem = FakeFileSystem()
            let storage = ShardStorage(
                log: try SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions()))
            var raft = RaftConfiguration(id: id)
            raft.electionTicks = 10
            raft.heartbeatTicks = 1
            let persisted = try storage.load()
            let driver = try ShardDriver(
                shard: ShardID(0), nodeID: id, incarnation: 100 + id,
                voters: try storage.genesisVoters(recording: voters, persisted: persisted), persisted: persisted,
                engineConfiguration: QueueEngineConfiguration(receiptHandleKey: [UInt8](repeating: 5, count: 32)),
                settings: settings, raftConfiguration: raft, seed: id, repair: false, now: time)
            members[id] = Member(storage: storage, driver: driver)
        }
        for _ in 0..<100 where leader == 0 {
            try tick()
            leader = members.keys.sorted().first { members[$0]!.driver.raft.role == .leader } ?? 0
        }
        guard leader != 0 else { throw ShardGroupBenchError(reason: "no leader elected") }
        _ = try run(.createQueue(name: queueName, attributes: ["VisibilityTimeout": "30"], tags: [:]))
    }

    var time: ShardTime { ShardTime(monotonicMilliseconds: monotonic, wallMilliseconds: 1_700_000_000_000 + monotonic) }

    /// Runs `command` through the leader and the group until it is answered.
    public mutating func run(_ command: Command) throws -> CommandResult {
        let client = nextClient
        nextClient += 1
        carryOut(members[leader]!.driver.clientCommand(command, client: client, now: time), on: leader)
        return try settle(until: client)
    }

    /// ReceiveMessage through the leader, without waiting.
    public mutating func receive(_ request: ReceiveMessageRequest) throws -> CommandResult {
        let client = nextClient
        nextClient += 1
        carryOut(
            members[leader]!.driver.clientReceive(request, waitSeconds: 0, client: client, now: time), on: leader)
        return try settle(until: client)
    }

    /// Sends `count` messages of `bodyBytes` in one batch.
    public mutating func sendBatch(count: Int, bodyBytes: Int) throws -> CommandResult {
        let body = String(repeating: "x", count: bodyBytes)
        let entries = (0..<count).map { SendMessageEntry(id: "\($0)", body: body) }
        return try run(.sendMessages(queueName: queueName, entries: entries, senderId: "AIDABENCH", isBatch: true))
    }

    /// The full cycle of one batch: send `count`, receive them, delete them.
    public mutating func cycle(count: Int, bodyBytes: Int) throws {
        _ = try sendBatch(count: count, bodyBytes: bodyBytes)
        try drainBatch(count: count)
    }

    /// Receives up to `count` messages and deletes them.
    public mutating func drainBatch(count: Int) throws {
        guard
            case .received(let messages) = try receive(
                ReceiveMessageRequest(queueName: queueName, maxNumberOfMessages: count))
        else { throw ShardGroupBenchError(reason: "the receive failed") }
        guard !messages.isEmpty else { return }
        let entries = messages.enumerated().map {
            ReceiptEntry(id: "\($0.offset)", receiptHandle: $0.element.receiptHandle)
        }
        _ = try run(.deleteMessages(queueName: queueName, entries: entries, isBatch: true))
    }

    mutating func tick() throws {
        monotonic += 100
        for id in members.keys.sorted() { carryOut(members[id]!.driver.tick(now: time), on: id) }
        _ = try settle(until: nil)
    }

    /// Persists every Ready and delivers every frame until `client` is answered (or nothing moves).
    mutating func settle(until client: ClientHandle?) throws -> CommandResult {
        for _ in 0..<Self.roundsMax {
            for id in members.keys.sorted() {
                carryOut(members[id]!.driver.inputsDrained(now: time), on: id)
                while let ready = members[id]!.driver.takeReady() {
                    carryOut(ready.sendsBeforePersisting, on: id)
                    try members[id]!.storage.persist(ready)
                    carryOut(members[id]!.driver.persisted(ready, now: time), on: id)
                }
            }
            if let client, let answer = answers.removeValue(forKey: client) { return answer }
            if inFlight.isEmpty {
                guard client != nil else { return .done }
                // Waiting on a timer (a heartbeat, a read index): let time pass.
                monotonic += 10
                for id in members.keys.sorted() { carryOut(members[id]!.driver.tick(now: time), on: id) }
                continue
            }
            let frames = inFlight
            inFlight = []
            for (from, to, frame) in frames {
                carryOut(try members[to]!.driver.peerFrame(frame, from: from, now: time), on: to)
            }
        }
        throw ShardGroupBenchError(reason: "the group did not answer within \(Self.roundsMax) rounds")
    }

    mutating func carryOut(_ actions: [ShardAction], on id: NodeID) {
        for action in actions {
            switch action {
            case .send(let peer, let frames):
                for frame in frames { inFlight.append((id, peer, frame)) }
            case .answer(let client, let result):
                answers[client] = result
            case .fatal(let reason): preconditionFailure(reason)
            case .startSnapshot, .repairFinished, .membershipChanged, .log, .serveRead, .failRead, .startTransfer:
                break
            }
        }
    }
}

public struct ShardGroupBenchError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
