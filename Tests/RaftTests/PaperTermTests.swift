import Raft
import Testing

/// §5.1 of the Raft paper: terms act as a logical clock. A node that sees a higher term adopts it and
/// becomes a follower, whatever its role; a message of an older term is stale and is rejected; a node's term
/// never goes back.
@Suite struct PaperTermTests {
    /// A node in `role` at term 2 (pre-vote on only for the pre-candidate).
    static func node(in role: Role) -> Raft {
        let persisted = PersistedState(hardState: HardState(term: 1))
        switch role {
        case .follower:
            return makeFollower(1, of: 2, term: 2)
        case .preCandidate:
            var node = makeNode(1, persisted: PersistedState(hardState: HardState(term: 2))) { $0.preVote = true }
            node.tickUntilCampaign()
            return node
        case .candidate:
            var node = makeNode(1, persisted: persisted)
            node.tickUntilCampaign()
            return node
        case .leader:
            return makeLeader(1, persisted: persisted)
        }
    }

    @Test(arguments: [Role.follower, .preCandidate, .candidate, .leader], [MessageKind.append, .heartbeat, .vote])
    func aHigherTermMakesEveryRoleAFollowerOfThatTerm(role: Role, kind: MessageKind) {
        var node = Self.node(in: role)
        #expect(node.role == role)
        #expect(node.term == 2)
        _ = node.takeReady()

        node.step(Message(kind: kind, from: 3, to: 1, term: 5))

        #expect(node.role == .follower)
        #expect(node.term == 5)
        // Only a leader's message names the leader; a vote request does not.
        #expect(node.leader == (kind == .vote ? 0 : 3))
        #expect(node.takeReady().hardState?.term == 5)
    }

    @Test func aStaleAppendIsIgnored() {
        var node = makeFollower(1, of: 2, term: 3)
        node.step(
            Message(kind: .append, from: 3, to: 1, term: 2, entries: [Entry(term: 2, index: 1, data: [1])], commit: 1))
        #expect(node.lastIndex == 0)
        #expect(node.commitIndex == 0)
        #expect(node.term == 3)
        #expect(node.leader == 2)
        // Without pre-vote and check-quorum nobody answers a stale leader (as etcd).
        #expect(!node.hasReady)
    }

    @Test func aStaleLeaderIsToldTheNewTermWhenPreVoteOrCheckQuorumIsOn() {
        var node = makeFollower(1, of: 2, term: 3) { $0.preVote = true }
        node.step(Message(kind: .heartbeat, from: 3, to: 1, term: 2, commit: 0))
        #expect(node.takeMessages() == [Message(kind: .appendResponse, from: 1, to: 3, term: 3)])
        #expect(node.leader == 2)

        // The stale leader learns the term from the answer and steps down.
        var staleLeader = makeLeader(3, persisted: PersistedState(hardState: HardState(term: 1))) { $0.preVote = true }
        #expect(staleLeader.term == 2)
        staleLeader.step(Message(kind: .appendResponse, from: 1, to: 3, term: 3))
        #expect(staleLeader.role == .follower)
        #expect(staleLeader.term == 3)
    }

    @Test func aStaleVoteRequestIsNotGranted() {
        var node = makeNode(1, persisted: PersistedState(hardState: HardState(term: 3)))
        node.step(Message(kind: .vote, from: 2, to: 1, term: 2))
        #expect(node.takeMessages().isEmpty)
        #expect(node.hardState == HardState(term: 3))
    }

    @Test(arguments: MessageKind.allCases)
    func aLeaderKeepsItsTermAndRoleOnAnyMessageOfAnOlderTerm(kind: MessageKind) {
        var leader = makeLeader(1, persisted: PersistedState(hardState: HardState(term: 4)))
        #expect(leader.term == 5)
        leader.step(Message(kind: kind, from: 2, to: 1, term: 2, logTerm: 9, index: 9, commit: 9))
        #expect(leader.term == 5)
        #expect(leader.role == .leader)
        #expect(leader.commitIndex == 0)
    }

    @Test func theTermNeverDecreasesAcrossRolesAndRestarts() {
        var node = makeNode(1, persisted: PersistedState(hardState: HardState(term: 7, votedFor: 2)))
        var terms = [node.term]
        node.tickUntilCampaign()
        terms.append(node.term)
        node.step(Message(kind: .append, from: 3, to: 1, term: 6))
        terms.append(node.term)
        node.step(Message(kind: .heartbeat, from: 3, to: 1, term: 9))
        terms.append(node.term)
        node.step(Message(kind: .vote, from: 2, to: 1, term: 8))
        terms.append(node.term)
        let persisted = PersistedState(hardState: node.takeReady().hardState!)
        var restarted = makeNode(1, persisted: persisted)
        terms.append(restarted.term)
        restarted.tickUntilCampaign()
        terms.append(restarted.term)
        #expect(terms == [7, 8, 8, 9, 9, 9, 10])
    }

    @Test func aNodeStartsAsAFollowerWithItsPersistedTermAndVote() {
        let fresh = makeNode(1)
        #expect(fresh.role == .follower)
        #expect(fresh.term == 0)
        #expect(fresh.leader == 0)

        let restarted = makeNode(1, persisted: PersistedState(hardState: HardState(term: 4, votedFor: 2)))
        #expect(restarted.role == .follower)
        #expect(restarted.hardState == HardState(term: 4, votedFor: 2))
        #expect(restarted.softState == SoftState(leader: 0, role: .follower))
    }
}
