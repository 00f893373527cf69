import Cluster
import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import TestSupport

/// One node of the simulated cluster: the real `ShardDriver` over the real `ShardStorage` on its own
/// simulated disk, with its own clocks. The simulator carries out the driver's actions here, as the
/// production shell does on its thread.
final class SimulatedNode {
    let id: NodeID
    let voters: Set<NodeID>
    let fileSystem = FakeFileSystem()
    let settings: ShardSettings
    private(set) var storage: ShardStorage?
    private(set) var driver: ShardDriver?
    /// Client requests this incarnation took, by handle (the simulator's operation id).
    var clients: Set<ClientHandle> = []
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

    static let directory = "/shard-0"
    /// Small segments, so logs roll and sealed segments exist to damage.
    static let segmentBytesMax = 16 << 10
    static let receiptHandleKey = [UInt8](repeating: 5, count: 32)

    init(
        id: NodeID, voters: Set<NodeID>, settings: ShardSettings, monotonicOffset: Int64, wallOffset: Int64,
        diskSeed: UInt64, clockRatePermille: Int64
    ) {
        self.clockRatePermille = clockRatePermille
        self.id = id
        self.diskRandom = SplitMix64(seed: diskSeed)
        self.voters = voters
        self.settings = settings
        self.monotonicOffset = monotonicOffset
        self.wallOffset = wallOffset
    }

    var isUp: Bool { driver != nil }

    /// Set when its log is damaged; it counts as damaged until it is up and has finished repairing.
    var awaitsRepair = false
    var isDamaged: Bool {
        if awaitsRepair, let driver, !driver.raft.isRepairing { awaitsRepair = false }
        return awaitsRepair
    }

    func time(_ trueTime: Int64) -> ShardTime {
        let elapsed = trueTime * clockRatePermille / 1_000
        return ShardTime(
            monotonicMilliseconds: elapsed + monotonicOffset, wallMilliseconds: 1_700_000_000_000 + elapsed + wallOffset
        )
    }

    /// Opens the log (salvaging a damaged one and repairing from peers, as `ClusterNode` does) and starts
    /// a driver with a new incarnation.
    func start(trueTime: Int64, incarnation: UInt64, seed: UInt64) throws {
        var options = SegmentLogOptions()
        options.syncPolicy = .always
        options.segmentBytesMax = Self.segmentBytesMax
        let opened = try ShardStorage.open(
            directory: Self.directory, fileSystem: fileSystem, options: options, peersCanRepair: true)
        if opened.damage != nil { repairs += 1 }
        let storage = opened.storage
        var raftConfiguration = RaftConfiguration(id: id)
        raftConfiguration.electionTicks = 10
        raftConfiguration.heartbeatTicks = 1
        driver = try ShardDriver(
            shard: ShardID(0), nodeID: id, incarnation: incarnation, voters: voters, persisted: try storage.load(),
            engineConfiguration: QueueEngineConfiguration(receiptHandleKey: Self.receiptHandleKey),
            settings: settings, raftConfiguration: raftConfiguration, seed: seed, repair: opened.repair,
            now: time(trueTime))
        self.storage = storage
        nextTickAt = trueTime + Int64(settings.tickMilliseconds)
    }

    /// A process crash: the driver and what it held are gone; written bytes stay (page cache).
    func crash() {
        storage?.log.close()
        storage = nil
        driver = nil
        clients = []
        fileSystem.restart()
    }

    /// A power loss: only synced bytes survive, and of each file's unsynced tail a random part, its
    /// sectors kept or zeroed in any order.
    func powerLoss() {
        storage?.log.close()
        storage = nil
        driver = nil
        clients = []
        fileSystem.powerLoss(scramblingUnsyncedWith: &diskRandom)
    }

    /// Runs an event against the driver and returns its actions (none when the node is down).
    func step(_ event: (inout ShardDriver) -> [ShardAction]) -> [ShardAction] {
        guard driver != nil else { return [] }
        return event(&driver!)
    }

    /// The persist-and-send loop of the shell. Returns the actions to carry out, or nil if the node crashed
    /// (an injected crash, or a failed disk).
    func drainReady(trueTime: Int64, carryOut: ([ShardAction]) -> Void) -> Bool {
        carryOut(step { $0.inputsDrained(now: time(trueTime)) })
        while driver != nil, let ready = driver!.takeReady() {
            carryOut(ready.sendsBeforePersisting)
            let fault = nextReadyFault
            nextReadyFault = nil
            if fault == .crashBeforePersisting {
                crash()
                return false
            }
            if fault == .powerLossBeforeSync { fileSystem.crashAtNextSync(pathContains: ".log") }
            do {
                try storage!.persist(ready)
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
            carryOut(step { $0.persisted(ready, now: time(trueTime)) })
        }
        return true
    }

    /// Takes a snapshot inline (the production shell does it on another thread).
    func takeSnapshot(_ job: SnapshotJob) -> [ShardAction] {
        guard let storage else { return [] }
        let snapshot = job.encode()
        do {
            try ShardStorage.writeSnapshot(
                snapshot, directory: Self.directory, fileSystem: fileSystem, compress: true)
            try storage.adoptLocalSnapshot(snapshot)
            return step { $0.snapshotWritten(snapshot) }
        } catch {
            return step { $0.snapshotFailed("\(error)") }
        }
    }

    /// The files of this node's log, sorted (segments and snapshots).
    var logFiles: [String] { fileSystem.paths.filter { $0.hasPrefix(Self.directory + "/") } }
}
