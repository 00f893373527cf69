import Raft

/// The simulated clients: they propose unique payloads to whichever node they guess leads.
struct SimulatedClient: Sendable {
    var nextPayloadID: UInt64 = 1
    /// Payloads some leader took into its log (they may still be lost until committed).
    var taken: Set<UInt64> = []
    /// The node the clients last heard leads; 0 when unknown.
    var knownLeader: NodeID = 0
}

/// What became of a proposal.
public enum RaftSimulationProposal: Sendable, Equatable {
    /// The node took the payloads (`ids`) into its log as leader; they are acknowledged once applied.
    case taken(ids: [UInt64])
    /// The node refused: not the leader, or a leadership transfer is under way.
    case refused(RaftError)
}

extension RaftSimulator {
    /// The faulty phase's random events, at most a few per step.
    mutating func injectRandomEvents() throws(RaftSimulationFailure) {
        let running = nodes.filter(\.isUp).map(\.id)
        if random.chance(0.5), !running.isEmpty {
            // Clients go to the node they last heard leads (now and then to any node), and when told who
            // leads they retry there once.
            let known = client.knownLeader
            let target = known != 0 && isUp(known) && random.chance(0.8) ? known : random.pick(running)
            let count = 1 + random.below(4)
            switch propose(at: target, count: count) {
            case .taken: client.knownLeader = target
            case .refused(.notLeader(let leader)) where leader != 0 && isUp(leader):
                client.knownLeader = leader
                _ = propose(at: leader, count: count)
            case .refused: client.knownLeader = 0
            }
        }
        if random.chance(0.01), !running.isEmpty { crash(random.pick(running)) }
        // Leader churn (the ingredient of the paper's Figure 8): the leader is cut off or crashes, now and then
        // half-way through a Ready, before it replicates what it took.
        if random.chance(0.03), let leader {
            switch random.below(3) {
            case 0: crash(leader)
            case 1: isolate([leader])
            default: nodes[Int(leader) - 1].crashDuringReady = random.pick([.afterHardState, .afterSomeMessages])
            }
        }
        if random.chance(0.01), !running.isEmpty {
            let node = random.pick(running)
            nodes[Int(node) - 1].crashDuringReady = random.pick(ReadyCrashPoint.allCases)
        }
        for node in nodes.filter({ !$0.isUp }).map(\.id) where random.chance(0.08) { try restart(node) }
        if random.chance(0.02) { changeNetworkWeather() }
        if random.chance(0.02) { partitionRandomly() }
        if random.chance(0.03) { network.blocked = [] }
        if options.membershipChanges, random.chance(0.08), let leader { proposeRandomMembershipChange(at: leader) }
        if random.chance(0.01), let leader {
            let voters = raft(leader).membership.allVoters.subtracting([leader]).sorted()
            if !voters.isEmpty { transferLeadership(from: leader, to: random.pick(voters)) }
        }
    }

    /// Proposes `count` new payloads at `node`.
    public mutating func propose(at node: NodeID, count: Int = 1) -> RaftSimulationProposal {
        let ids = (0..<UInt64(count)).map { client.nextPayloadID + $0 }
        client.nextPayloadID += UInt64(count)
        let batch = ids.map { SimulatedPayload.encode(id: $0, paddingBytes: random.below(48)) }
        do {
            try nodes[Int(node) - 1].raft.propose(batch)
        } catch {
            report.proposalsRefused += count
            return .refused(error)
        }
        client.taken.formUnion(ids)
        report.proposalsTaken += count
        note("node \(node) took payloads \(ids)")
        return .taken(ids: ids)
    }

    /// Asks `leader` to hand leadership to `target`.
    public mutating func transferLeadership(from leader: NodeID, to target: NodeID) {
        nodes[Int(leader) - 1].raft.transferLeadership(to: target)
        report.leadershipTransfers += 1
        note("node \(leader) transfers leadership to \(target)")
    }

    /// Proposes `change` at `node`; returns the error if it was refused.
    @discardableResult
    public mutating func proposeMembershipChange(_ change: MembershipChange, at node: NodeID) -> RaftError? {
        report.membershipChangesProposed += 1
        do {
            try nodes[Int(node) - 1].raft.proposeMembershipChange(change)
        } catch {
            report.membershipChangesRefused += 1
            return error
        }
        note("node \(node) took membership change \(change.steps)")
        return nil
    }

    /// One of: add a learner, promote a learner, add a voter directly, remove a voter or a learner, demote
    /// a voter, replace the leader (joint consensus), swap two voters (joint consensus). Keeps 3 to 5 voters.
    mutating func proposeRandomMembershipChange(at leader: NodeID) {
        let membership = raft(leader).membership
        let voters = membership.voters.sorted()
        let learners = membership.learners.sorted()
        let outsiders = nodeIDs.filter { !membership.members.contains($0) }
        let others = voters.filter { $0 != leader }
        var changes: [[MembershipChange.Step]] = []
        if !outsiders.isEmpty { changes.append([.addLearner(random.pick(outsiders))]) }
        if !learners.isEmpty {
            changes.append([.remove(random.pick(learners))])
            if voters.count < 5 { changes.append([.addVoter(random.pick(learners))]) }
        }
        if voters.count < 5 && !outsiders.isEmpty { changes.append([.addVoter(random.pick(outsiders))]) }
        if voters.count > 3 {
            changes.append([.remove(random.pick(voters))])
            changes.append([.addLearner(random.pick(voters))])
        }
        let newcomers = learners + outsiders
        if !newcomers.isEmpty {
            changes.append([.addVoter(random.pick(newcomers)), .remove(leader)])
            if !others.isEmpty { changes.append([.addVoter(random.pick(newcomers)), .remove(random.pick(others))]) }
        }
        guard !changes.isEmpty else { return }
        proposeMembershipChange(MembershipChange(random.pick(changes)), at: leader)
    }

    /// New loss, duplication, delay and reordering rates.
    mutating func changeNetworkWeather() {
        network.lossRate = random.pick([0, 0, 0.01, 0.05, 0.2])
        network.duplicationRate = random.pick([0, 0, 0.02, 0.1])
        network.delayStepsMax = random.pick([0, 0, 1, 2, 5, 10])
        network.reorders = random.chance(0.5)
        let network = network
        note(
            "network: loss \(network.lossRate), duplication \(network.duplicationRate), "
                + "delay \(network.delayStepsMax), reorders \(network.reorders)")
    }

    /// A random partition: two groups, one node cut off, one node that can send but not receive (or the
    /// reverse), or a single link cut one way.
    mutating func partitionRandomly() {
        let all = nodeIDs
        guard all.count > 1 else { return }
        let node = random.pick(all)
        let others = all.filter { $0 != node }
        report.partitions += 1
        switch random.below(4) {
        case 0:
            var shuffled = all
            random.shuffle(&shuffled)
            let group = Set(shuffled.prefix(1 + random.below(all.count - 1)))
            network.isolate(group, among: all)
            note("partition: \(group.sorted()) | the rest")
        case 1:
            network.isolate([node], among: all)
            note("partition: node \(node) cut off")
        case 2:
            let outgoing = random.chance(0.5)
            for other in others {
                block(from: outgoing ? node : other, to: outgoing ? other : node)
            }
            note("partition: node \(node) cannot \(outgoing ? "send" : "receive")")
        default:
            let other = random.pick(others)
            block(from: node, to: other)
            note("partition: \(node) → \(other) cut")
        }
    }

    /// Drops every message from `from` to `to` (one way) until `healNetwork()`.
    public mutating func block(from: NodeID, to: NodeID) {
        network.blocked.insert(SimulatedLink(from: from, to: to))
    }

    /// Cuts `group` off from the other nodes, both ways.
    public mutating func isolate(_ group: Set<NodeID>) {
        network.isolate(group, among: nodeIDs)
    }

    /// Ends every partition and every network fault (loss, duplication, delay, reordering).
    public mutating func healNetwork() {
        network.healCompletely()
        note("network healed")
    }
}
