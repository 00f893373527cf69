import Cluster
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import TestSupport

/// One node of the simulated cluster: a real `ShardDriver` per shard that placement gives it, each over a
/// real `ShardStorage` on the node's own simulated disk, with the node's clocks, and the node's table of
/// calls to other nodes for the shards it does not host (`NodeCalls`, as `NodeRouter` keeps it). The
/// simulator carries out the drivers' actions here, as the production shell does on each shard's thread.
/// A crash or power loss takes every shard of the node down at once.
final class SimulatedNode {
    let id: NodeID
    /// The replicas of each shard this node hosts (the voters its drivers move the group toward), the
    /// preferred leader first; changed by replica moves (`SimulationMoves`).
    private(set) var voters: [Int: [NodeID]]
    /// The voters each hosted shard began with (recorded in a new replica's GENESIS file).
    private(set) var genesis: [Int: Set<NodeID>]
    /// The incarnation and seed of the current start, for a replica added while the node runs.
    private var incarnation: UInt64 = 1
    private var seed: UInt64 = 0
    let fileSystem = FakeFileSystem()
    let settings: ShardSettings
    let shardCount: Int
    /// By shard, for the shards this node hosts; empty while the node is down.
    private(set) var storages: [Int: ShardStorage] = [:]
    private(set) var drivers: [Int: ShardDriver] = [:]
    private(set) var isUp = false
    /// Client requests this incarnation took, by handle (the simulator's operation id).
    var clients: Set<ClientHandle> = []
    /// Calls this node made of other nodes' replicas; the waiter is the request's handle.
    var calls = NodeCalls<ClientHandle>(nonce: 1)
    /// Calls of other nodes this node is answering, by the handle given to its driver.
    var served: [ClientHandle: (caller: NodeID, call: UInt64, shard: UInt32)] = [:]
    /// Queries waiting for their read index, by handle.
    var reads: [ClientHandle: ShardQuery] = [:]
    /// This node's monotonic clock is the true time plus this; its wall clock adds `wallOffset`.
    var monotonicOffset: Int64
    var wallOffset: Int64
    /// How fast this node's clocks run against true time, in thousandths (skew between nodes).
    let clockRatePermille: Int64
    var nextTickAt: Int64 = 0
    /// A fault for the node's next Ready.
    enum ReadyFault { case crashBeforePersisting, crashAfterPersisting, powerLossBeforeSync }
    var nextReadyFault: ReadyFault?
    /// Which unsynced sectors a power loss keeps (from the seed).
    var diskRandom: SplitMix64
    var restarts = 0
    var repairs = 0
    /// Snapshots installed from a leader, over every incarnation.
    var snapshotsInstalled = 0

    static func directory(_ shard: Int) -> String { "/shard-\(shard)" }
    /// Small segments, so logs roll and sealed segments exist to damage.
    static let segmentBytesMax = 16 << 10
    static let receiptHandleKey = [UInt8](repeating: 5, count: 32)

    init(
        id: NodeID, voters: [Int: [NodeID]], settings: ShardSettings, shardCount: Int, monotonicOffset: Int64,
        wallOffset: Int64, diskSeed: UInt64, clockRatePermille: Int64
    ) {
        self.shardCount = shardCount
        self.clockRatePermille = clockRatePermille
        self.id = id
        self.diskRandom = SplitMix64(seed: diskSeed)
        self.voters = voters
        self.genesis = voters.mapValues { Set($0) }
        self.settings = settings
        self.monotonicOffset = monotonicOffset
        self.wallOffset = wallOffset
    }

    /// The shards this node hosts.
    var shards: [Int] { voters.keys.sorted() }
    func hosts(_ shard: Int) -> Bool { voters[shard] != nil }
    var isRepairing: Bool { drivers.values.contains { $0.raft.isRepairing } }

    /// Set when its log is damaged; it counts as damaged until it is up and has finished repairing.
    var awaitsRepair = false
    var isDamaged: Bool {
        if awaitsRepair, isUp, !isRepairing { awaitsRepair = false }
        return awaitsRepair
    }

    func time(_ trueTime: Int64) -> ShardTime {
        let elapsed = trueTime * clockRatePermille / 1_000
        return ShardTime(
            monotonicMilliseconds: elapsed + monotonicOffset, wallMilliseconds: 1_700_000_000_000 + elapsed + wallOffset
        )
    }

    /// Opens each shard's log (salvaging a damaged one and repairing from peers, as `ClusterNode` does) and
    /// starts its driver with a new incarnation; calls start from a new nonce.
    func start(trueTime: Int64, incarnation: UInt64, seed: UInt64) throws {
        calls = NodeCalls(nonce: UInt32(truncatingIfNeeded: incarnation >> 32))
        (self.incarnation, self.seed) = (incarnation, seed)
        do {
            for shard in shards { try startReplica(shard, trueTime: trueTime) }
        } catch {
            stop()
            throw error
        }
        isUp = true
        nextTickAt = trueTime + Int64(settings.tickMilliseconds)
    }

    private func startReplica(_ shard: Int, trueTime: Int64) throws {
        var options = SegmentLogOptions()
        options.syncPolicy = .always
        options.segmentBytesMax = Self.segmentBytesMax
        let opened = try ShardStorage.open(
            directory: Self.directory(shard), fileSystem: fileSystem, options: options, peersCanRepair: true)
        if opened.damage != nil { repairs += 1 }
        var raftConfiguration = RaftConfiguration(id: id)
        raftConfiguration.electionTicks = 10
        raftConfiguration.heartbeatTicks = 1
        let persisted = try opened.storage.load()
        var driver = try ShardDriver(
            shard: ShardID(UInt32(shard)), nodeID: id, incarnation: incarnation,
            voters: try opened.storage.genesisVoters(recording: genesis[shard]!, persisted: persisted),
            persisted: persisted,
            engineConfiguration: QueueEngineConfiguration(
                shardId: UInt32(shard), receiptHandleKey: Self.receiptHandleKey, shardCount: shardCount),
            settings: settings, raftConfiguration: raftConfiguration, seed: seed &+ UInt64(shard),
            repair: opened.repair, now: time(trueTime))
        // The target, preferred leader first: leaders go back to where placement spreads them, and a
        // moved shard's voters to where the move puts them.
        driver.setTargetVoters(voters[shard]!)
        storages[shard] = opened.storage
        drivers[shard] = driver
    }

    /// This node gets a replica of `shard` (a move's newcomer): it joins the group that began with
    /// `genesis` voters as a learner, and moves it toward `target` like every replica.
    func host(_ shard: Int, genesis: Set<NodeID>, target: [NodeID], trueTime: Int64) throws {
        precondition(voters[shard] == nil, "node \(id) hosts shard \(shard) already")
        voters[shard] = target
        self.genesis[shard] = genesis
        if isUp { try startReplica(shard, trueTime: trueTime) }
    }

    /// Every replica of `shard` moves its group toward `target`.
    func retarget(_ shard: Int, to target: [NodeID]) {
        guard voters[shard] != nil else { return }
        voters[shard] = target
        drivers[shard]?.setTargetVoters(target)
    }

    /// This node's replica of `shard` left its group: stopped, and its files deleted (a replica added
    /// here again starts empty).
    func unhost(_ shard: Int) {
        storages.removeValue(forKey: shard)?.log.close()
        drivers[shard] = nil
        voters[shard] = nil
        genesis[shard] = nil
        for path in fileSystem.paths where path.hasPrefix(Self.directory(shard) + "/") {
            try? fileSystem.removeFile(path)
        }
    }

    /// A process crash: the drivers and what they held are gone; written bytes stay (page cache).
    func crash() {
        stop()
        fileSystem.restart()
    }

    private func stop() {
        for storage in storages.values { storage.log.close() }
        (storages, drivers, isUp) = ([:], [:], false)
        (clients, served, reads) = ([], [:], [:])
        calls = NodeCalls(nonce: 1)
    }

    /// A power loss: only synced bytes survive, and of each file's unsynced tail a random part, its
    /// sectors kept or zeroed in any order.
    func powerLoss() {
        stop()
        fileSystem.powerLoss(scramblingUnsyncedWith: &diskRandom)
    }

    /// Runs an event against a shard's driver and returns its actions (none when the node is down).
    func step<Failure: Error>(_ shard: Int, _ event: (inout ShardDriver) throws(Failure) -> [ShardAction])
        throws(Failure) -> [ShardAction]
    {
        guard drivers[shard] != nil else { return [] }
        return try event(&drivers[shard]!)
    }

    func storage(_ shard: Int) -> ShardStorage? { storages[shard] }

    /// The persist-and-send loop of the shell, shard by shard. Returns false if the node crashed (an
    /// injected crash, or a failed disk).
    func drainReady(trueTime: Int64, carryOut: (Int, [ShardAction]) -> Void) -> Bool {
        for shard in shards where isUp {
            guard drainReady(shard, trueTime: trueTime, carryOut: { carryOut(shard, $0) }) else { return false }
        }
        return true
    }

    private func drainReady(_ shard: Int, trueTime: Int64, carryOut: ([ShardAction]) -> Void) -> Bool {
        carryOut(step(shard) { $0.inputsDrained(now: time(trueTime)) })
        while drivers[shard] != nil, let ready = drivers[shard]!.takeReady() {
            carryOut(ready.sendsBeforePersisting)
            let fault = nextReadyFault
            nextReadyFault = nil
            if fault == .crashBeforePersisting {
                crash()
                return false
            }
            if fault == .powerLossBeforeSync { fileSystem.crashAtNextSync(pathContains: ".log") }
            do {
                try storages[shard]!.persist(ready)
            } catch {
                if fault == .powerLossBeforeSync { powerLoss() } else { crash() }
                return false
            }
            if fault == .crashAfterPersisting {
                crash()
                return false
            }
            // Nothing synced in this Ready (a commit index alone): the power loss waits for the next sync.
            if fault == .powerLossBeforeSync { nextReadyFault = fault }
            if ready.ready.snapshot != nil { snapshotsInstalled += 1 }
            carryOut(step(shard) { $0.persisted(ready, now: time(trueTime)) })
        }
        return true
    }

    /// Takes a snapshot inline (the production shell does it on another thread).
    func takeSnapshot(_ job: SnapshotJob, shard: Int) -> [ShardAction] {
        guard let storage = storage(shard) else { return [] }
        let snapshot = job.encode()
        do {
            try ShardStorage.writeSnapshot(
                snapshot, directory: Self.directory(shard), fileSystem: fileSystem, compress: true)
            try storage.adoptLocalSnapshot(snapshot)
            return step(shard) { $0.snapshotWritten(snapshot) }
        } catch {
            return step(shard) { $0.snapshotFailed("\(error)") }
        }
    }

    /// The files of this node's logs, sorted (segments and snapshots of every shard).
    var logFiles: [String] { fileSystem.paths.filter { $0.hasPrefix("/shard-") } }
}
