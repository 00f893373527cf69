import Raft
import Testing

/// Linearizable reads (ReadIndex, thesis §6.4) and where requests go when this node does not lead.
@Suite struct ScenarioReadTests {
    @Test func aSingleNodeAnswersAReadAtOnce() throws {
        var network = TestNetwork(voters: [1])
        network.elect(1)
        try network.propose("written")
        network.pump()
        try network.on(1) { try $0.readIndex(Array("read".utf8)) }
        network.handleReady(of: 1)
        #expect(network.readStates[1] == [ReadState(index: 2, context: Array("read".utf8))])
    }

    @Test func aLeaderAnswersAReadOnceAQuorumConfirmsItStillLeads() throws {
        var leader = makeLeader()
        leader.step(appendAccepted(from: 2, to: 1, term: 1, index: 1))
        _ = leader.takeReady()
        let context = Array("read".utf8)
        try leader.readIndex(context)
        var ready = leader.takeReady()
        #expect(ready.readStates.isEmpty)
        #expect(
            ready.messages
                == [2, 3].map {
                    Message(kind: .heartbeat, from: 1, to: $0, term: 1, commit: $0 == 2 ? 1 : 0, context: context)
                })

        leader.step(Message(kind: .heartbeatResponse, from: 3, to: 1, term: 1, context: context))
        ready = leader.takeReady()
        #expect(ready.readStates == [ReadState(index: 1, context: context)])
        // A late acknowledgement answers nothing twice.
        leader.step(Message(kind: .heartbeatResponse, from: 2, to: 1, term: 1, context: context))
        #expect(leader.takeReady().readStates.isEmpty)
    }

    @Test func aNewLeaderDefersReadsUntilItCommitsAnEntryOfItsTerm() throws {
        let persisted = PersistedState(hardState: HardState(term: 1, commit: 1), entries: entries(terms: [1, 1]))
        var leader = makeLeader(persisted: persisted)
        let context = Array("read".utf8)
        try leader.readIndex(context)
        // Its commit index (1) may be behind what the previous leader committed (2): no answer yet.
        #expect(leader.takeReady().messages.isEmpty)
        leader.step(appendAccepted(from: 2, to: 1, term: 2, index: 3))
        #expect(leader.commitIndex == 3)
        let heartbeats = only(.heartbeat, in: leader.takeMessages())
        #expect(heartbeats.map(\.to) == [2, 3])
        #expect(heartbeats.allSatisfy { $0.context == context })
        leader.step(Message(kind: .heartbeatResponse, from: 2, to: 1, term: 2, context: context))
        #expect(leader.takeReady().readStates == [ReadState(index: 3, context: context)])
    }

    @Test func aThreeNodeLeaderAnswersAfterAHeartbeatRound() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        try network.propose("written")
        network.pump()
        network.sent = []
        try network.on(1) { try $0.readIndex(Array("read".utf8)) }
        network.handleReady(of: 1)
        #expect(network.readStates[1, default: []].isEmpty)
        #expect(network.sent.map(\.kind) == [.heartbeat, .heartbeat])
        network.pump()
        #expect(network.readStates[1] == [ReadState(index: 2, context: Array("read".utf8))])
    }

    @Test func aFollowerForwardsAReadToTheLeader() throws {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        try network.propose("written")
        network.pump()
        network.sent = []
        try network.on(2) { try $0.readIndex(Array("read".utf8)) }
        network.pump()
        #expect(network.sent.first == Message(kind: .readIndex, from: 2, to: 1, context: Array("read".utf8)))
        #expect(
            network.sent.contains(
                Message(kind: .readIndexResponse, from: 1, to: 2, term: 1, index: 2, context: Array("read".utf8))))
        #expect(network.readStates[2] == [ReadState(index: 2, context: Array("read".utf8))])
        #expect(network.readStates[1, default: []].isEmpty)
    }

    /// A read-index request that reaches a follower (its asker took it for the leader) is not relayed: the
    /// relayed message would name the asker, not the follower, and the link to the leader refuses it (found
    /// by ferry simulate, seed 176). The asker asks again when it learns the leader.
    @Test func aFollowerDoesNotRelayAnotherNodesReadRequest() {
        var follower = makeFollower(2, of: 1, term: 2)
        follower.step(Message(kind: .readIndex, from: 3, to: 2, context: Array("read".utf8)))
        #expect(follower.takeMessages().isEmpty)
    }

    @Test func aNodeWithoutALeaderRefusesReadsAndProposals() {
        var node = makeNode(1)
        #expect(throws: RaftError.notLeader(leader: 0)) { try node.readIndex([1]) }
        #expect(throws: RaftError.notLeader(leader: 0)) { try node.propose([1]) }
        node.tickUntilCampaign()
        #expect(throws: RaftError.notLeader(leader: 0)) { try node.propose([1]) }
    }

    @Test func aProposalOnAFollowerNamesTheLeader() {
        var network = TestNetwork(voters: [1, 2, 3])
        network.elect(1)
        #expect(throws: RaftError.notLeader(leader: 1)) { try network.propose("misdirected", on: 2) }
        #expect(throws: RaftError.notLeader(leader: 1)) { try network.propose("misdirected", on: 3) }
        #expect(!network.nodes[2]!.hasReady)
    }
}
