import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import TestSupport

@testable import Cluster

/// A few shard drivers of one group over real `ShardStorage`s on simulated disks, joined by an in-memory
/// network the test can cut or make lossy; one clock for all, moved a tick at a time.
struct GroupHarness {
    struct Member {
        let fileSystem: FakeFileSystem
        var storage: ShardStorage
        var driver: ShardDriver
    }

    /// What becomes of a frame on its way.
    enum Fate { case deliver, drop, duplicate }

    var members: [NodeID: Member] = [:]
    var inFlight: [(from: NodeID, to: NodeID, frame: PeerFrame)] = []
    /// Decides each frame's fate; by default every frame arrives once.
    var network: (NodeID, NodeID, PeerFrame) -> Fate = { _, _, _ in .deliver }
    /// Every frame sent, for the test to look at.
    var sent: [(from: NodeID, to: NodeID, frame: PeerFrame)] = []
    var answers: [ClientHandle: CommandResult] = [:]
    /// Each member's membership as its last `.membershipChanged` reported it.
    var memberships: [NodeID: Membership] = [:]
    /// Every `.log` line, prefixed with its member's id.
    var logs: [String] = []
    /// Members that are down (crashed, not yet restarted): no ticks, no frames in or out.
    var down: Set<NodeID> = []
    /// Checked after each round of `settle`: true stops it there, frames still in flight, so a test can act
    /// on a state the group only passes through (a joint configuration between two commits).
    var interrupt: ((GroupHarness) -> Bool)?
    var nextClient: ClientHandle = 1
    var monotonic: Int64 = 5_000

    let settings: ShardSettings

    init(voters: [NodeID], settings: ShardSettings) throws {
        self.settings = settings
        for id in voters { try addMember(id, placement: Set(voters)) }
    }

    /// Starts `id` with an empty log (a member of the first voters, or a replica that will join through a
    /// membership change); `placement` is recorded as the group's first voters.
    mutating func addMember(_ id: NodeID, placement: Set<NodeID>) throws {
        try start(id, on: FakeFileSystem(), placement: placement, incarnation: 100 + id)
    }

    /// Restarts `id` from its disk (everything it wrote was synced); `placement` is where the shard's
    /// replicas are placed by then, recorded only if the directory has no genesis file.
    mutating func restart(_ id: NodeID, placement: Set<NodeID>) throws {
        let member = members[id]!
        member.storage.log.close()
        inFlight.removeAll { $0.to == id || $0.from == id }
        try start(id, on: member.fileSystem, placement: placement, incarnation: member.driver.incarnation + 1_000)
    }

    private mutating func start(
        _ id: NodeID, on fileSystem: FakeFileSystem, placement: Set<NodeID>, incarnation: UInt64
    ) throws {
        let storage = ShardStorage(
            log: try SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem, options: SegmentLogOptions()))
        var raftConfiguration = RaftConfiguration(id: id)
        raftConfiguration.electionTicks = 10
        raftConfiguration.heartbeatTicks = 1
        let persisted = try storage.load()
        let driver = try ShardDriver(
            shard: ShardID(0), nodeID: id, incarnation: incarnation,
            voters: try storage.genesisVoters(recording: placement, persisted: persisted), persisted: persisted,
            engineConfiguration: QueueEngineConfiguration(receiptHandleKey: DriverHarness.key), settings: settings,
            raftConfiguration: raftConfiguration, seed: id, repair: false, now: Self.time(monotonic))
        members[id] = Member(fileSystem: fileSystem, storage: storage, driver: driver)
    }

    static func time(_ monotonic: Int64) -> ShardTime {
        ShardTime(monotonicMilliseconds: monotonic, wallMilliseconds: 1_700_000_000_000 + monotonic)
    }

    var now: ShardTime { Self.time(monotonic) }

    /// The leader of the highest term among members that are up (a deposed leader cut off may not know yet).
    var leader: NodeID? {
        members.keys.sorted().filter { !down.contains($0) && members[$0]!.driver.raft.role == .leader }
            .max { members[$0]!.driver.raft.term < members[$1]!.driver.raft.term }
    }

    /// Submits a command to `id`; returns the client handle its answer will carry.
    @discardableResult
    mutating func submit(_ command: Command, to id: NodeID) -> ClientHandle {
        defer { nextClient += 1 }
        let actions = members[id]!.driver.clientCommand(command, client: nextClient, now: now)
        carryOut(actions, on: id)
        return nextClient
    }

    /// One tick of every member, then frames delivered and Readies persisted until nothing moves.
    mutating func tick() throws {
        monotonic += 100
        for id in members.keys.sorted() where !down.contains(id) {
            carryOut(members[id]!.driver.tick(now: now), on: id)
        }
        try settle()
    }

    mutating func settle() throws {
        for _ in 0..<10_000 {
            for id in members.keys.sorted() where !down.contains(id) {
                carryOut(members[id]!.driver.inputsDrained(now: now), on: id)
                while let ready = members[id]!.driver.takeReady() {
                    carryOut(ready.sendsBeforePersisting, on: id)
                    try members[id]!.storage.persist(ready)
                    carryOut(members[id]!.driver.persisted(ready, now: now), on: id)
                }
            }
            guard !inFlight.isEmpty, interrupt?(self) != true else { return }
            let frames = inFlight
            inFlight = []
            for (from, to, frame) in frames { try deliver(frame, from: from, to: to) }
        }
        preconditionFailure("the group never settled")
    }

    /// Delivers a frame; frames to a member the test removed, or to or from one that is down, are dropped.
    mutating func deliver(_ frame: PeerFrame, from: NodeID, to: NodeID) throws {
        guard members[to] != nil, !down.contains(to), !down.contains(from) else { return }
        let time = now
        carryOut(try members[to]!.driver.peerFrame(frame, from: from, now: time), on: to)
    }

    mutating func carryOut(_ actions: [ShardAction], on id: NodeID) {
        for action in actions {
            switch action {
            case .send(let peer, let frames):
                for frame in frames {
                    sent.append((id, peer, frame))
                    switch network(id, peer, frame) {
                    case .deliver: inFlight.append((id, peer, frame))
                    case .drop: break
                    case .duplicate: inFlight += [(id, peer, frame), (id, peer, frame)]
                    }
                }
            case .answer(let client, let result):
                precondition(answers[client] == nil, "client \(client) answered twice")
                answers[client] = result
            case .startSnapshot(let job):
                let member = members[id]!
                let snapshot = job.encode()
                do {
                    try ShardStorage.writeSnapshot(
                        snapshot, directory: member.storage.log.directory, fileSystem: member.fileSystem,
                        compress: true)
                    try member.storage.adoptLocalSnapshot(snapshot)
                    carryOut(members[id]!.driver.snapshotWritten(snapshot), on: id)
                } catch {
                    carryOut(members[id]!.driver.snapshotFailed("\(error)"), on: id)
                }
            case .fatal(let reason): preconditionFailure(reason)
            case .repairFinished: try? members[id]!.storage.repairFinished()
            case .membershipChanged(let membership): memberships[id] = membership
            case .log(_, let line): logs.append("\(id): \(line)")
            case .serveRead, .failRead, .startTransfer: break
            }
        }
    }
}
