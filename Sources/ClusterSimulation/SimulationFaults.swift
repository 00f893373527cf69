import Cluster
import Placement
import Raft
import TestSupport

/// The seed's fault mix (swarm testing: each kind off, rare or frequent) and what was injected.
struct SimulationFaults {
    var partitionRate = 0.0
    var crashRate = 0.0
    var powerLossRate = 0.0
    var corruptionRate = 0.0
    var clockRate = 0.0
    /// Replica moves, with more nodes than replicas (`SimulationMoves`).
    var moveRate = 0.0
    /// Nodes down, and when they come back (true time).
    var restartAt: [NodeID: Int64] = [:]
    /// When the current partition heals; flapping partitions toggle until then.
    var partitionEndsAt: Int64?
    var isFlapping = false
    var injected: [String: Int] = [:]

    mutating func choose(using random: inout SimulationRandom, network: inout SimulatedNetwork) {
        network.lossRate = random.swarmRate(rare: 0.01, frequent: 0.1)
        network.duplicationRate = random.swarmRate(rare: 0.01, frequent: 0.05)
        network.delayMilliseconds = random.pick([1...3, 1...30, 5...200])
        partitionRate = random.swarmRate(rare: 0.0005, frequent: 0.003)
        crashRate = random.swarmRate(rare: 0.0003, frequent: 0.002)
        powerLossRate = random.swarmRate(rare: 0.0002, frequent: 0.001)
        corruptionRate = random.swarmRate(rare: 0.0002, frequent: 0.0008)
        clockRate = random.swarmRate(rare: 0.0005, frequent: 0.003)
        moveRate = random.swarmRate(rare: 0.0003, frequent: 0.002)
    }
}

extension SimulationWorld {
    /// Draws this step's faults from the fault stream.
    mutating func injectFaults() {
        let ids = nodes.map(\.id)
        if let end = faults.partitionEndsAt {
            if now >= end {
                network.heal()
                faults.partitionEndsAt = nil
                record("partition healed")
            } else if faults.isFlapping && faultRandom.chance(0.02) {
                if network.cut.isEmpty {
                    network.isolate(faultRandom.pick(ids), from: ids, oneWay: false)
                } else {
                    network.heal()
                }
            }
        } else if faultRandom.chance(faults.partitionRate) {
            let node = faultRandom.pick(ids)
            let kind = faultRandom.int(0...2)
            network.isolate(node, from: ids, oneWay: kind == 1)
            faults.isFlapping = kind == 2
            faults.partitionEndsAt = now + Int64(faultRandom.int(500...8_000))
            let name = ["partition", "one-way partition", "flapping partition"][kind]
            faults.injected[name, default: 0] += 1
            record("\(name) of node \(node)")
        }
        if faultRandom.chance(faults.crashRate), let node = upNode() {
            if faultRandom.chance(0.3) {
                let fault = faultRandom.pick([SimulatedNode.ReadyFault.crashBeforePersisting, .crashAfterPersisting])
                node.nextReadyFault = fault
                faults.injected["crash mid-persist", default: 0] += 1
                record("node \(node.id) will crash in its next persist (\(fault))")
            } else {
                if node.isRepairing { faults.injected["crash during repair", default: 0] += 1 }
                node.crash()
                faults.injected["crash", default: 0] += 1
                crashed(node, reason: "kill -9")
            }
        }
        if faultRandom.chance(faults.powerLossRate), let node = upNode() {
            switch faultRandom.int(0...2) {
            case 0:
                node.powerLoss()
                faults.injected["power loss", default: 0] += 1
                crashed(node, reason: "power loss")
            case 1:
                // Between a write and its fdatasync: the write's sectors persist partly, in any order.
                node.nextReadyFault = .powerLossBeforeSync
                faults.injected["power loss mid-write", default: 0] += 1
                record("node \(node.id) will lose power in its next persist, before the sync")
            default:
                // Correlated: a majority loses power at once (one of them mid-write); they must elect again.
                let majority = Array(
                    nodes.filter(\.isUp).shuffled(using: &faultRandom.generator).prefix(nodes.count / 2 + 1))
                for (position, member) in majority.enumerated() {
                    if position == 0 {
                        member.nextReadyFault = .powerLossBeforeSync
                    } else {
                        member.powerLoss()
                        crashed(member, reason: "power loss of a majority")
                    }
                }
                faults.injected["power loss of a majority", default: 0] += 1
            }
        }
        if faultRandom.chance(faults.corruptionRate) { corruptMinority() }
        if nodes.count > placement.replicationFactor, move == nil, faultRandom.chance(faults.moveRate) { startMove() }
        if faultRandom.chance(faults.clockRate) {
            let node = faultRandom.pick(nodes)
            let jump = Int64(faultRandom.pick([-3_600_000, -60_000, -5_000, 5_000, 60_000, 3_600_000]))
            node.wallOffset += jump
            faults.injected["clock jump", default: 0] += 1
            record("node \(node.id) wall clock jumps \(jump) ms")
        }
    }

    /// An up node to fail.
    mutating func upNode() -> SimulatedNode? {
        let up = nodes.filter(\.isUp)
        return up.isEmpty ? nil : faultRandom.pick(up)
    }

    /// Whether `node` can be stopped for disk damage: in every shard it hosts, a majority of the replicas
    /// stays up and at most a minority is damaged (a node counts until it has finished repairing).
    func canDamage(_ node: SimulatedNode) -> Bool {
        node.isUp
            && node.shards.allSatisfy { shard in
                let replicas = nodes.filter { $0.hosts(shard) }
                let damaged = replicas.filter(\.isDamaged).count
                return damaged + 1 <= (replicas.count - 1) / 2 && replicas.filter(\.isUp).count - 1 > replicas.count / 2
            }
    }

    /// Damages the log of one stopped node while, in each of its shards, a majority of the replicas is up
    /// and intact: a bit flip in a synced segment or a truncation; the node must salvage and repair from its peers.
    mutating func corruptMinority() {
        let damageable = nodes.filter(canDamage)
        guard !damageable.isEmpty else { return }
        let node = faultRandom.pick(damageable)
        node.awaitsRepair = true
        node.crash()
        crashed(node, reason: "stopped for disk damage")
        let segments = node.logFiles.filter { $0.hasSuffix(".log") }.sorted()
        // A truncation hits a sealed segment, one that is not its shard's newest: cutting synced records off
        // the end of the newest looks exactly like a torn write, which no log can tell from one without a
        // record kept elsewhere.
        let sealed = Dictionary(grouping: segments) { $0.split(separator: "/").dropLast() }
            .values.flatMap { $0.sorted().dropLast() }.sorted()
        let truncate = !sealed.isEmpty && faultRandom.chance(0.5)
        let candidates = truncate ? sealed : segments
        guard let path = candidates.isEmpty ? nil : faultRandom.pick(candidates),
            let contents = node.fileSystem.contents(path), contents.count > 64
        else { return }
        if !truncate {
            let offset = faultRandom.int(32...(contents.count - 1))
            node.fileSystem.flipBit(path: path, byteOffset: offset, bit: faultRandom.int(0...7))
            faults.injected["bit flip", default: 0] += 1
            record("node \(node.id): bit flipped in \(path) at \(offset)")
        } else {
            let keep = faultRandom.int(32...(contents.count - 1))
            node.fileSystem.setContents(path, Array(contents.prefix(keep)))
            faults.injected["truncation", default: 0] += 1
            record("node \(node.id): \(path) truncated to \(keep) bytes")
        }
    }

    /// The end of the fault phase: the network heals and every node comes back.
    mutating func heal() {
        network.heal()
        network.lossRate = 0
        network.duplicationRate = 0
        faults.partitionEndsAt = nil
        for node in nodes {
            node.nextReadyFault = nil
            if !node.isUp { faults.restartAt[node.id] = now }
        }
        record("healed")
    }
}
