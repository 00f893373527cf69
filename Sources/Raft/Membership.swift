/// Who votes and who only receives the log. During joint consensus (§6 of the Raft paper, "Cluster
/// membership changes") a decision needs a majority of `voters` and one of `outgoingVoters`.
public struct Membership: Sendable, Equatable {
    /// The (incoming) voters.
    public var voters: Set<NodeID>
    /// The previous voters while in a joint configuration; empty otherwise.
    public var outgoingVoters: Set<NodeID>
    /// Non-voting members that receive the log (catch up before being promoted).
    public var learners: Set<NodeID>
    /// Voters of the outgoing configuration that become learners when the joint configuration is left.
    public var learnersNext: Set<NodeID>

    public init(
        voters: Set<NodeID>, outgoingVoters: Set<NodeID> = [], learners: Set<NodeID> = [],
        learnersNext: Set<NodeID> = []
    ) {
        self.voters = voters
        self.outgoingVoters = outgoingVoters
        self.learners = learners
        self.learnersNext = learnersNext
    }

    /// True while in a joint configuration.
    public var isJoint: Bool { !outgoingVoters.isEmpty }

    /// Everyone who receives the log.
    public var members: Set<NodeID> { voters.union(outgoingVoters).union(learners).union(learnersNext) }

    /// Everyone whose vote counts.
    public var allVoters: Set<NodeID> { voters.union(outgoingVoters) }

    /// True when `granted` (and not `rejected`) decide an election: won, lost, or still pending.
    func voteResult(_ votes: [NodeID: Bool]) -> VoteResult {
        let incoming = Self.majorityResult(voters, votes)
        guard isJoint else { return incoming }
        let outgoing = Self.majorityResult(outgoingVoters, votes)
        if incoming == .won && outgoing == .won { return .won }
        if incoming == .lost || outgoing == .lost { return .lost }
        return .pending
    }

    /// The highest index a quorum has: the commit candidate (§5.3, §5.4.2 is checked by the caller).
    func committedIndex(_ match: (NodeID) -> UInt64) -> UInt64 {
        let incoming = Self.majorityIndex(voters, match)
        guard isJoint else { return incoming }
        return min(incoming, Self.majorityIndex(outgoingVoters, match))
    }

    /// True when the nodes in `active` form a quorum.
    func hasQuorum(_ active: Set<NodeID>) -> Bool {
        var votes: [NodeID: Bool] = [:]
        for node in allVoters { votes[node] = active.contains(node) }
        return voteResult(votes) == .won
    }

    private static func majorityResult(_ voters: Set<NodeID>, _ votes: [NodeID: Bool]) -> VoteResult {
        // An empty configuration wins everything, so a joint configuration with one empty half works.
        guard !voters.isEmpty else { return .won }
        var granted = 0
        var missing = 0
        for voter in voters {
            switch votes[voter] {
            case true?: granted += 1
            case false?: break
            case nil: missing += 1
            }
        }
        let quorum = voters.count / 2 + 1
        if granted >= quorum { return .won }
        if granted + missing >= quorum { return .pending }
        return .lost
    }

    private static func majorityIndex(_ voters: Set<NodeID>, _ match: (NodeID) -> UInt64) -> UInt64 {
        guard !voters.isEmpty else { return .max }
        let sorted = voters.map(match).sorted(by: >)
        return sorted[voters.count / 2]
    }
}

/// How an election stands.
enum VoteResult: Equatable {
    case won, lost, pending
}

/// A proposed membership change. One voter change alone applies directly; anything else enters joint
/// consensus, which the leader leaves automatically once the joint configuration is committed. An empty
/// change list leaves a joint configuration.
public struct MembershipChange: Sendable, Equatable {
    /// One step.
    public enum Step: Sendable, Equatable {
        case addVoter(NodeID)
        case addLearner(NodeID)
        case remove(NodeID)
    }

    public var steps: [Step]

    public init(_ steps: [Step]) {
        self.steps = steps
    }

    /// The entry payload.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [1, UInt8(truncatingIfNeeded: steps.count), UInt8(truncatingIfNeeded: steps.count >> 8)]
        for step in steps {
            let (tag, node): (UInt8, NodeID) =
                switch step {
                case .addVoter(let node): (1, node)
                case .addLearner(let node): (2, node)
                case .remove(let node): (3, node)
                }
            bytes.append(tag)
            withUnsafeBytes(of: node.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Decodes an entry payload; nil when it is not a valid change.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 3, bytes[0] == 1 else { return nil }
        let count = Int(bytes[1]) | Int(bytes[2]) << 8
        guard bytes.count == 3 + count * 9 else { return nil }
        var steps: [Step] = []
        for position in 0..<count {
            let offset = 3 + position * 9
            var node: NodeID = 0
            for byte in (0..<8).reversed() { node = node << 8 | NodeID(bytes[offset + 1 + byte]) }
            switch bytes[offset] {
            case 1: steps.append(.addVoter(node))
            case 2: steps.append(.addLearner(node))
            case 3: steps.append(.remove(node))
            default: return nil
            }
        }
        self.steps = steps
    }

    /// True when this change needs joint consensus (more than one voter changes).
    var needsJointConsensus: Bool {
        steps.count > 1
    }

    /// The membership after applying this change to `current`, or why it cannot be applied.
    func applied(to current: Membership) -> Result<Membership, RaftError> {
        if steps.isEmpty {
            // Leave the joint configuration.
            guard current.isJoint else { return .failure(.membershipChangeRejected("not in a joint configuration")) }
            var next = current
            next.outgoingVoters = []
            next.learners.formUnion(next.learnersNext)
            next.learnersNext = []
            return .success(next)
        }
        guard !current.isJoint else {
            return .failure(.membershipChangeRejected("a joint configuration must be left first"))
        }
        var next = current
        if needsJointConsensus { next.outgoingVoters = current.voters }
        for step in steps {
            switch step {
            case .addVoter(let node):
                next.voters.insert(node)
                next.learners.remove(node)
                next.learnersNext.remove(node)
            case .addLearner(let node):
                next.voters.remove(node)
                if next.outgoingVoters.contains(node) {
                    next.learnersNext.insert(node)
                } else {
                    next.learners.insert(node)
                }
            case .remove(let node):
                next.voters.remove(node)
                next.learners.remove(node)
                next.learnersNext.remove(node)
            }
        }
        guard !next.voters.isEmpty else { return .failure(.membershipChangeRejected("no voters would remain")) }
        return .success(next)
    }
}
