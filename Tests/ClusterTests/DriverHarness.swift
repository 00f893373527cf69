import PeerTransport
import Placement
import QueueEngine
import Raft
import SegmentLog
import TestSupport

@testable import Cluster

/// One shard driver alone (a group of one voter) over a real `ShardStorage` on a simulated disk, with a
/// clock the test moves: the shell's work, done inline.
struct DriverHarness {
    static let key = [UInt8](repeating: 3, count: 32)
    let fileSystem: FakeFileSystem
    let storage: ShardStorage
    var driver: ShardDriver
    var answers: [ClientHandle: CommandResult] = [:]
    var reads: [ClientHandle] = []
    var nextClient: ClientHandle = 1
    var monotonic: Int64 = 5_000
    var wall: Int64 = 1_700_000_000_000

    init(
        fileSystem: FakeFileSystem = FakeFileSystem(), incarnation: UInt64, settings: ShardSettings = ShardSettings(),
        syncPolicy: LogSyncPolicy = .always
    ) throws {
        self.fileSystem = fileSystem
        var options = SegmentLogOptions()
        options.syncPolicy = syncPolicy
        storage = ShardStorage(
            log: try SegmentLog.open(directory: "/shard-0", fileSystem: fileSystem, options: options))
        var raftConfiguration = RaftConfiguration(id: 1)
        raftConfiguration.electionTicks = 2
        raftConfiguration.heartbeatTicks = 1
        driver = try ShardDriver(
            shard: ShardID(0), nodeID: 1, incarnation: incarnation, voters: [1], persisted: try storage.load(),
            engineConfiguration: QueueEngineConfiguration(receiptHandleKey: Self.key), settings: settings,
            raftConfiguration: raftConfiguration, seed: 9, repair: false,
            now: ShardTime(monotonicMilliseconds: monotonic, wallMilliseconds: wall))
    }

    var now: ShardTime { ShardTime(monotonicMilliseconds: monotonic, wallMilliseconds: wall) }

    /// Submits a command; returns the client handle its answer will carry.
    @discardableResult
    mutating func submit(_ command: Command) -> ClientHandle {
        defer { nextClient += 1 }
        carryOut(driver.clientCommand(command, client: nextClient, now: now))
        return nextClient
    }

    /// Ends the round and runs every Ready through the storage.
    mutating func settle() throws {
        carryOut(driver.inputsDrained(now: now))
        while let ready = driver.takeReady() {
            carryOut(ready.sendsBeforePersisting)
            try storage.persist(ready)
            carryOut(driver.persisted(ready, now: now))
        }
    }

    /// Ticks (each a tenth of a second) until this node leads.
    mutating func becomeLeader() throws {
        for _ in 0..<50 where driver.raft.role != .leader {
            monotonic += 100
            wall += 100
            carryOut(driver.tick(now: now))
            try settle()
        }
        precondition(driver.raft.role == .leader, "no leader after 50 ticks")
    }

    mutating func carryOut(_ actions: [ShardAction]) {
        for action in actions {
            switch action {
            case .answer(let client, let result):
                precondition(answers[client] == nil, "client \(client) answered twice")
                answers[client] = result
            case .serveRead(let client): reads.append(client)
            case .startSnapshot(let job):
                let snapshot = job.encode()
                do {
                    try ShardStorage.writeSnapshot(
                        snapshot, directory: storage.log.directory, fileSystem: fileSystem, compress: true)
                    try storage.adoptLocalSnapshot(snapshot)
                    carryOut(driver.snapshotWritten(snapshot))
                } catch {
                    carryOut(driver.snapshotFailed("\(error)"))
                }
            case .fatal(let reason): preconditionFailure(reason)
            case .repairFinished: try? storage.repairFinished()
            case .send, .failRead, .startTransfer, .membershipChanged, .log: break
            }
        }
    }
}
