import Raft

/// A configuration for tests: the paper's plain Raft (no pre-vote, no check-quorum) unless asked otherwise.
func testConfiguration(id: NodeID, preVote: Bool = false, checkQuorum: Bool = false) -> RaftConfiguration {
    var configuration = RaftConfiguration(id: id)
    configuration.preVote = preVote
    configuration.checkQuorum = checkQuorum
    return configuration
}

/// Entries at `first`, `first + 1`, … with the given terms, drawn like the logs in the paper's figures. Each
/// carries a payload naming its term and index, so entries that conflict differ.
func entries(terms: [UInt64], from first: UInt64 = 1) -> [Entry] {
    terms.enumerated().map { offset, term in
        let index = first + UInt64(offset)
        return Entry(term: term, index: index, data: Array("t\(term)i\(index)".utf8))
    }
}

/// Helpers for the paper tests: one node driven by hand, its outputs read from `Ready`.
extension Raft {
    /// Takes the pending `Ready` and reports it done (these tests persist nothing).
    mutating func takeReady() -> Ready {
        let ready = ready()
        advance(ready)
        return ready
    }

    /// The messages sent since the last `Ready`.
    mutating func takeMessages() -> [Message] {
        takeReady().messages
    }

    mutating func tick(times: Int) {
        for _ in 0..<times { tick() }
    }

    /// Ticks until this node campaigns (a new role or a new term, at most 2 × electionTicks ticks); returns the
    /// ticks it took, 0 when it did not campaign.
    @discardableResult
    mutating func tickUntilCampaign() -> Int {
        let (role, term) = (self.role, self.term)
        for ticks in 1...(2 * configuration.electionTicks) {
            tick()
            if self.role != .follower && (self.role != role || self.term != term) { return ticks }
        }
        return 0
    }
}

/// A node of a group of `voters` (and `learners`) starting from `persisted`.
func makeNode(
    _ id: NodeID, voters: Set<NodeID> = [1, 2, 3], learners: Set<NodeID> = [],
    persisted: PersistedState = PersistedState(), seed: UInt64 = 1,
    configure: (inout RaftConfiguration) -> Void = { _ in }
) -> Raft {
    var configuration = testConfiguration(id: id)
    configure(&configuration)
    return Raft(
        configuration: configuration, membership: Membership(voters: voters, learners: learners), persisted: persisted,
        seed: seed)
}

/// A node that leads `voters` at the term after its persisted one: it campaigned and every other voter
/// granted its vote. Its `Ready` (the no-op append of §8) is taken, so the followers are probed and paused.
func makeLeader(
    _ id: NodeID = 1, voters: Set<NodeID> = [1, 2, 3], learners: Set<NodeID> = [],
    persisted: PersistedState = PersistedState(), configure: (inout RaftConfiguration) -> Void = { _ in }
) -> Raft {
    var node = makeNode(id, voters: voters, learners: learners, persisted: persisted, configure: configure)
    node.tickUntilCampaign()
    for peer in voters.sorted() where peer != id {
        switch node.role {
        case .preCandidate:
            node.step(Message(kind: .preVoteResponse, from: peer, to: id, term: node.term + 1))
        case .candidate:
            node.step(Message(kind: .voteResponse, from: peer, to: id, term: node.term))
        default:
            break
        }
    }
    for peer in voters.sorted() where peer != id && node.role == .candidate {
        node.step(Message(kind: .voteResponse, from: peer, to: id, term: node.term))
    }
    precondition(node.role == .leader, "node \(id) did not win its election")
    _ = node.takeReady()
    return node
}

/// A follower of `leader` at `term`: it heard a heartbeat. Its `Ready` is taken.
func makeFollower(
    _ id: NodeID, of leader: NodeID, term: UInt64, voters: Set<NodeID> = [1, 2, 3],
    persisted: PersistedState = PersistedState(), configure: (inout RaftConfiguration) -> Void = { _ in }
) -> Raft {
    var node = makeNode(id, voters: voters, persisted: persisted, configure: configure)
    node.step(Message(kind: .heartbeat, from: leader, to: id, term: term, commit: persisted.hardState.commit))
    precondition(node.role == .follower && node.leader == leader, "node \(id) does not follow \(leader)")
    _ = node.takeReady()
    return node
}

/// A follower's acceptance of the leader's entries up to `index`.
func appendAccepted(from follower: NodeID, to leader: NodeID, term: UInt64, index: UInt64) -> Message {
    Message(kind: .appendResponse, from: follower, to: leader, term: term, index: index)
}

/// A granted vote.
func voteGranted(from voter: NodeID, to candidate: NodeID, term: UInt64) -> Message {
    Message(kind: .voteResponse, from: voter, to: candidate, term: term)
}

/// The messages of one kind.
func only(_ kind: MessageKind, in messages: [Message]) -> [Message] {
    messages.filter { $0.kind == kind }
}
