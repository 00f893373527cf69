import Cluster
import PeerTransport
import Placement
import QueueEngine
import Raft

/// One seed's simulated world: nodes, network, clients, faults and the checker, advanced in steps of
/// `stepMilliseconds` of true time. Nothing here reads a clock, starts a thread or sleeps.
struct SimulationWorld {
    static let stepMilliseconds: Int64 = 10
    /// Faults are injected during this much simulated time, then everything heals.
    static let faultPhaseMilliseconds: Int64 = 40_000
    /// After healing, the drain must finish within this much simulated time (liveness).
    static let drainMillisecondsMax: Int64 = 120_000
    /// After the drain, every replica must reach the same applied index within this much simulated time.
    static let quietMillisecondsMax: Int64 = 20_000
    /// Client operations in flight at once.
    static let inFlightMax = 48
    static let traceLinesMax = 300
    /// More frames than this in one simulated second is a livelock (a healthy run sends a few hundred).
    static let framesPerSecondMax = 20_000

    let seed: UInt64
    var workloadRandom: SimulationRandom
    var faultRandom: SimulationRandom
    var networkRandom: SimulationRandom
    var identityRandom: SimulationRandom
    var nodes: [SimulatedNode] = []
    var network = SimulatedNetwork()
    var history = SimulationHistory()
    var faults = SimulationFaults()
    var now: Int64 = 0
    var nextOperation: UInt64 = 1
    var sentMessageIds: Set<String> = []
    var trace: [String] = []
    var digest: UInt64 = 0xCBF2_9CE4_8422_2325
    var failure: String?
    var isDraining = false
    var queuesCreated: Set<String> = []
    var busiestSecondFrames = 0
    var snapshotChunksDelivered = 0
    /// How many shards the nodes serve: with two, the dead-letter queue lives in the other shard from its
    /// source, and redrive moves messages between shards.
    let shardCount: Int
    /// Which nodes hold a replica of each shard (rendezvous placement, as in production). With more nodes
    /// than the replication factor, a request for a shard its node does not host is a call to one that
    /// does, through the node's `NodeCalls`.
    let placement: Placement
    /// Calls between nodes answered, and calls that timed out or failed with their link.
    var callsAnswered = 0
    var callsFailed = 0
    /// Moves of outbox messages between shards under way, by the operation id of their current step.
    var transfers: [UInt64: Transfer] = [:]
    var transfersCompleted = 0
    /// Leaderships handed to a shard's preferred leader (leader balancing).
    var leaderHandOvers = 0
    /// Each shard's voters as calls see them: placement's, then as replica moves leave them.
    var replicaSets: [Int: [NodeID]] = [:]
    /// Nodes that ever hosted each shard (a move's newcomer is one that never did).
    var everHosted: [Int: Set<NodeID>] = [:]
    /// The replica move under way, and those done (`SimulationMoves`).
    var move: SimulatedMove?
    var movesCompleted = 0
    var traceHandler: ((String) -> Void)?

    static let queues = ["dlq", "q", "f.fifo"]

    init(seed: UInt64, nodeCount: Int?, replicationFactor requestedReplicationFactor: Int? = nil) {
        self.seed = seed
        var settingsRandom = SimulationRandom(seed: seed, stream: 1)
        workloadRandom = SimulationRandom(seed: seed, stream: 2)
        faultRandom = SimulationRandom(seed: seed, stream: 3)
        networkRandom = SimulationRandom(seed: seed, stream: 4)
        identityRandom = SimulationRandom(seed: seed, stream: 5)
        let count = nodeCount ?? settingsRandom.int(3...5)
        shardCount = settingsRandom.pick([1, 2])
        var settings = ShardSettings()
        settings.tickMilliseconds = 100
        settings.proposalTimeoutMilliseconds = 5_000
        settings.snapshotEntries = UInt64(settingsRandom.pick([50, 200, 100_000]))
        settings.compactionMarginEntries = UInt64(settingsRandom.pick([0, 50, 500]))
        // Small pieces, so a snapshot of the simulated workload (a few kB to a few hundred kB) streams in
        // many, through loss, duplication and reordering.
        settings.snapshotChunkBytes = settingsRandom.pick([2_048, 8_192, 32_768])
        settings.snapshotChunksInFlight = settingsRandom.pick([2, 4, 8])
        settings.snapshotChunkTimeoutMilliseconds = Int64(settingsRandom.pick([300, 2_000]))
        let replicationFactor =
            requestedReplicationFactor.map { min($0, count) } ?? (count <= 3 ? count : settingsRandom.pick([3, count]))
        placement = try! Placement(
            shardCount: shardCount, replicationFactor: replicationFactor, nodes: (1...count).map { NodeID($0) })
        for id in 1...count {
            var voters: [Int: [NodeID]] = [:]
            for shard in placement.shards(hostedBy: NodeID(id)) {
                voters[Int(shard.rawValue)] = placement.replicas(of: shard)
            }
            nodes.append(
                SimulatedNode(
                    id: NodeID(id), voters: voters, settings: settings, shardCount: shardCount,
                    monotonicOffset: Int64(settingsRandom.int(0...1_000_000)),
                    wallOffset: Int64(settingsRandom.int(-2_000...2_000)), diskSeed: settingsRandom.next(),
                    clockRatePermille: settingsRandom.chance(0.5) ? 1_000 : Int64(settingsRandom.int(990...1_010))))
        }
        for shard in placement.shards {
            replicaSets[Int(shard.rawValue)] = placement.replicas(of: shard)
            everHosted[Int(shard.rawValue)] = Set(placement.replicas(of: shard))
        }
        faults.choose(using: &settingsRandom, network: &network)
    }

    // MARK: Running

    mutating func run() -> SimulationReport {
        for node in nodes { start(node) }
        while failure == nil && now < Self.faultPhaseMilliseconds { step() }
        heal()
        isDraining = true
        let drainStart = now
        while failure == nil && (!isDrained || move != nil) {
            if now - drainStart > Self.drainMillisecondsMax {
                fail(
                    "liveness: the drain did not finish within \(Self.drainMillisecondsMax) ms after healing: \(drainState)"
                )
                break
            }
            step()
        }
        // Quiet: no new requests until every replica has applied the same index (the leader still proposes
        // its time advances, so an entry may be in flight at any one moment), then the final checks.
        let quietStart = now
        while failure == nil && now - quietStart < Self.quietMillisecondsMax
            && (now - quietStart < 2_000 || !replicasConverged)
        {
            step(issuing: false)
        }
        if failure == nil { checkFinal() }
        var injected = faults.injected
        for (kind, count) in [
            ("message loss", network.lost), ("message duplication", network.duplicated),
            ("message reordering", network.reordered),
            ("clock skew", nodes.filter { $0.clockRatePermille != 1_000 }.count),
        ] where count > 0 {
            injected[kind] = count
        }
        var report = SimulationReport(seed: seed, nodes: nodes.count, faults: injected, failure: nil)
        if let failure {
            report.failure = failure + "\nlast events:\n" + trace.joined(separator: "\n")
        }
        report.operations = history.operations.count
        report.acknowledgedSends = history.acknowledged.count
        report.receivedMessages = history.receivedCount.count
        report.duplicateDeliveries = history.receivedCount.values.reduce(0) { $0 + max(0, $1 - 1) }
        report.traceDigest = digest
        report.busiestSecondFrames = busiestSecondFrames
        report.snapshotChunksDelivered = snapshotChunksDelivered
        report.snapshotsInstalled = nodes.reduce(0) { $0 + $1.snapshotsInstalled }
        report.shards = shardCount
        report.transfers = transfersCompleted
        report.leaderHandOvers = leaderHandOvers
        report.movesCompleted = movesCompleted
        report.replicationFactor = placement.replicationFactor
        report.callsAnswered = callsAnswered
        report.callsFailed = callsFailed
        return report
    }

    mutating func step(issuing: Bool = true) {
        now += Self.stepMilliseconds
        if !isDraining { injectFaults() }
        restartDueNodes()
        for delivery in network.due(by: now) {
            deliver(delivery)
            if failure != nil { return }
        }
        expireCalls()
        for node in nodes where node.isUp && now >= node.nextTickAt {
            node.nextTickAt = now + Int64(node.settings.tickMilliseconds)
            for shard in node.shards { carryOut(node.step(shard) { $0.tick(now: node.time(now)) }, on: node, shard) }
        }
        if issuing { issueOperations() }
        for node in nodes where node.isUp {
            let alive = node.drainReady(trueTime: now) { shard, actions in carryOut(actions, on: node, shard) }
            if !alive { crashed(node, reason: "crash while persisting") }
        }
        checkMove()
        if now % 1_000 == 0 {
            checkReplicasAgree()
            busiestSecondFrames = max(busiestSecondFrames, network.framesSent)
            if network.framesSent > Self.framesPerSecondMax {
                fail(
                    "livelock: \(network.framesSent) frames sent in one second (at most \(Self.framesPerSecondMax)): "
                        + network.framesSentSummary + "; " + nodeStates)
            }
            network.framesSent = 0
            network.framesSentByKind = [Int](repeating: 0, count: 64)
        }
    }

    // MARK: Nodes

    mutating func start(_ node: SimulatedNode) {
        do {
            try node.start(
                trueTime: now, incarnation: identityRandom.next() | 1, seed: identityRandom.next())
            record("node \(node.id) started (restart \(node.restarts), repairs \(node.repairs))")
        } catch {
            fail("node \(node.id) cannot start: \(error)")
        }
    }

    /// A node went down: the requests it held have unknown outcomes.
    mutating func crashed(_ node: SimulatedNode, reason: String) {
        record("node \(node.id) down: \(reason)")
        transfers = transfers.filter { $0.value.node != node.id }  // its shards start over from their outboxes
        // A killed process's connections are closed by its kernel: its peers' calls to it fail at once. A
        // node that lost power answers nothing, and calls to it time out.
        if reason == "kill -9" { linkDown(node.id) }
        for (id, operation) in history.operations where operation.node == node.id && operation.outcome == .pending {
            settleUnknown(id)
        }
        faults.restartAt[node.id] = faults.restartAt[node.id] ?? now + Int64(faultRandom.int(200...3_000))
    }

    mutating func restartDueNodes() {
        for node in nodes where !node.isUp {
            guard let at = faults.restartAt[node.id], at <= now else { continue }
            faults.restartAt[node.id] = nil
            node.restarts += 1
            start(node)
        }
    }

    // MARK: The network

    mutating func deliver(_ delivery: SimulatedNetwork.Delivery) {
        guard let node = nodes.first(where: { $0.id == delivery.to }), node.isUp else { return }
        let time = node.time(now)
        for frame in delivery.frames {
            let shard = Int(frame.shard)
            if frame.kind == .call || frame.kind == .reply {
                callFrame(frame, from: delivery.from, to: node)
                if failure != nil || !node.isUp { return }
                continue
            }
            if frame.kind == .snapshotChunk { snapshotChunksDelivered += 1 }
            do {
                let actions = try node.step(shard) { driver throws(RaftWireError) in
                    try driver.peerFrame(frame, from: delivery.from, now: time)
                }
                carryOut(actions, on: node, shard)
            } catch {
                fail("a \(frame.kind) frame from node \(delivery.from) to \(delivery.to) is refused: \(error)")
            }
        }
    }

    /// Carries out a shard driver's actions as its shell would.
    mutating func carryOut(_ actions: [ShardAction], on node: SimulatedNode, _ shard: Int) {
        for action in actions {
            switch action {
            case .send(let peer, let frames):
                if !network.send(frames, from: node.id, to: peer, now: now, random: &networkRandom) {
                    carryOut(node.step(shard) { $0.sent(to: peer, delivered: false) }, on: node, shard)
                }
            case .answer(let handle, let result):
                answer(handle, with: .result(result), on: node)
            case .serveRead(let handle):
                guard let query = node.reads.removeValue(forKey: handle), let driver = node.drivers[shard] else {
                    return fail("node \(node.id) served read \(handle), which it does not hold")
                }
                do throws(QueueError) {
                    answer(
                        handle,
                        with: .answer(try query.answer(from: driver.engine, at: driver.shardTime(now: node.time(now)))),
                        on: node)
                } catch {
                    answer(handle, with: .failure(error), on: node)
                }
            case .failRead(let handle, let error):
                guard node.reads.removeValue(forKey: handle) != nil else {
                    return fail("node \(node.id) failed read \(handle), which it does not hold")
                }
                answer(handle, with: .failure(error), on: node)
            case .startSnapshot(let job):
                record("node \(node.id) shard \(shard) snapshot at \(job.index)")
                carryOut(node.takeSnapshot(job, shard: shard), on: node, shard)
            case .startTransfer(let target, let messages):
                startTransfer(messages, from: shard, to: Int(target.rawValue), on: node)
            case .repairFinished:
                do {
                    try node.storage(shard)?.repairFinished()
                } catch {
                    fail("node \(node.id) cannot remove its repair marker: \(error)")
                }
            case .membershipChanged(let membership):
                record("node \(node.id) shard \(shard) members \(membership.members.sorted())")
            case .log(_, let line):
                if line.hasSuffix("its preferred leader") { leaderHandOvers += 1 }
                record("node \(node.id): \(line)")
            case .fatal(let reason):
                fail("node \(node.id) fatal: \(reason)")
            }
        }
    }

    // MARK: Trace

    mutating func record(_ line: String) {
        let stamped = "[\(now) ms] \(line)"
        for byte in stamped.utf8 {
            digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        trace.append(stamped)
        traceHandler?(stamped)
        if trace.count > Self.traceLinesMax { trace.removeFirst(trace.count - Self.traceLinesMax) }
    }

    mutating func fail(_ reason: String) {
        guard failure == nil else { return }
        record("FAILED: \(reason)")
        failure = reason
    }
}
